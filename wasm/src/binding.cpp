// Emscripten binding: the same operation table as the N-API addon.
//   call(op, arrays, numbers, strings, onProgress?, isCancelled?, allocate?) ->
//     { arrays, numbers, strings } or { error: message, code } (code: the core's error code)
// Errors are returned (not thrown) so that the JS side can raise a proper
// Error with the core's message.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cmath>
#include <limits>
#include <new>

#include "scorecrl/runtime/buffers.hpp"
#include "scorecrl/runtime/ops.hpp"

using emscripten::val;

namespace {

struct BadArgument {
  std::string message;
};

val errorResult(const std::string& message, const char* code) {
  val out = val::object();
  out.set("error", message);
  out.set("code", std::string(code));
  return out;
}

// Copies one { data: Float64Array, shape } entry into wasm memory.
scorecrl::ArrayView copyIn(const std::string& op, const std::string& name, const val& entry,
                           std::vector<std::vector<double>>& storage) {
  const std::string where = op + ": array argument '" + name + "'";
  if (entry.typeOf().as<std::string>() != "object" || entry.isNull())
    throw BadArgument{where + " must be an object { data: Float64Array, shape: number[] }"};
  val data = entry["data"];
  val shape = entry["shape"];
  if (!data.instanceof (val::global("Float64Array")))
    throw BadArgument{where + ": data must be a Float64Array; convert with Float64Array.from(...)"};
  if (!val::global("Array").call<bool>("isArray", shape))
    throw BadArgument{where + ": shape must be an array of sizes"};
  scorecrl::ArrayView view;
  const unsigned dims = shape["length"].as<unsigned>();
  double total = 1;
  for (unsigned i = 0; i < dims; ++i) {
    val dim = shape[i];
    if (dim.typeOf().as<std::string>() != "number")
      throw BadArgument{where + ": shape[" + std::to_string(i) + "] must be a number"};
    const double s = dim.as<double>();
    if (!(s >= 0) || s != std::floor(s) || s > 9007199254740991.0)
      throw BadArgument{where + ": shape[" + std::to_string(i) + "] must be a non-negative integer"};
    total *= s;
    view.shape.push_back(static_cast<int64_t>(s));
  }
  const double length = data["length"].as<double>();
  if (total > 9007199254740991.0) throw BadArgument{where + ": the product of shape overflows"};
  if (total != length)
    throw BadArgument{where + ": shape implies " + std::to_string(static_cast<long long>(total)) +
                      " values but data has " + std::to_string(static_cast<long long>(length))};
  storage.emplace_back(static_cast<size_t>(length));
  std::vector<double>& buffer = storage.back();
  if (!buffer.empty()) val(emscripten::typed_memory_view(buffer.size(), buffer.data())).call<void>("set", data);
  view.data = buffer.data();
  return view;
}

val keysOf(const val& object) { return val::global("Object").call<val>("keys", object); }

// Results are copied out of wasm memory (a view on it would be detached when
// the memory grows) into arrays from `allocate(length)` when given (the JS
// side recycles the arrays of released results there), else new ones; the
// result's storage goes back to the core's pool for the next large result.
val toJs(scorecrl::OpResult&& result, const val& allocate) {
  const bool recycled = allocate.typeOf().as<std::string>() == "function";
  val out = val::object();
  val arrays = val::object();
  for (auto& entry : result.arrays) {
    val a = val::object();
    val shape = val::array();
    for (int64_t s : entry.second.shape) shape.call<void>("push", static_cast<double>(s));
    const size_t size = entry.second.data.size();
    val copy = recycled ? allocate(static_cast<double>(size)) : val::global("Float64Array").new_(size);
    if (size != 0) copy.call<void>("set", val(emscripten::typed_memory_view(size, entry.second.data.data())));
    scorecrl::buffers::give(std::move(entry.second.data));
    a.set("data", copy);
    a.set("shape", shape);
    arrays.set(entry.first, a);
  }
  val numbers = val::object();
  for (const auto& entry : result.numbers) numbers.set(entry.first, entry.second);
  val strings = val::object();
  for (const auto& entry : result.strings) strings.set(entry.first, entry.second);
  out.set("arrays", arrays);
  out.set("numbers", numbers);
  out.set("strings", strings);
  return out;
}

val call(std::string op, val arrays, val numbers, val strings, val onProgress, val isCancelled, val allocate) {
  std::vector<std::vector<double>> storage;
  scorecrl::OpArgs args;
  args.op = op;
  try {
    val names = keysOf(arrays);
    const unsigned count = names["length"].as<unsigned>();
    storage.reserve(count);
    for (unsigned i = 0; i < count; ++i) {
      const std::string name = names[i].as<std::string>();
      args.arrays[name] = copyIn(op, name, arrays[name], storage);
    }
    names = keysOf(numbers);
    for (unsigned i = 0; i < names["length"].as<unsigned>(); ++i) {
      const std::string name = names[i].as<std::string>();
      val v = numbers[name];
      const std::string type = v.typeOf().as<std::string>();
      if (type == "boolean")
        args.numbers[name] = v.as<bool>() ? 1.0 : 0.0;
      else if (type == "number")
        args.numbers[name] = v.as<double>();
      else
        throw BadArgument{op + ": option '" + name + "' must be a number"};
    }
    names = keysOf(strings);
    for (unsigned i = 0; i < names["length"].as<unsigned>(); ++i) {
      const std::string name = names[i].as<std::string>();
      val v = strings[name];
      if (v.typeOf().as<std::string>() != "string") throw BadArgument{op + ": option '" + name + "' must be a string"};
      args.strings[name] = v.as<std::string>();
    }
  } catch (const BadArgument& e) {
    return errorResult(e.message, "invalid-argument");
  }
  scorecrl::Context context;
  if (onProgress.typeOf().as<std::string>() == "function") {
    context.onProgress = [onProgress](double fraction, const std::string& message) { onProgress(fraction, message); };
  }
  if (isCancelled.typeOf().as<std::string>() == "function") {
    context.isCancelled = [isCancelled]() { return isCancelled().as<bool>(); };
  }
  try {
    return toJs(scorecrl::runOp(op, args, context), allocate);
  } catch (const scorecrl::Error& e) {
    return errorResult(e.what(), scorecrl::errorCodeName(e.code()));
  } catch (const std::bad_alloc&) {
    return errorResult(
        op + ": out of memory (the WASM heap is limited to 2 GiB; use the native backend for larger inputs)",
        "out-of-memory");
  } catch (const std::exception& e) {
    return errorResult(e.what(), "internal");
  }
}

val info() {
  scorecrl::BuildInfo build = scorecrl::buildInfo();
  val out = val::object();
  out.set("version", build.version);
  out.set("simd", build.simd);
  out.set("blas", build.blas);
  out.set("threads", build.threads);
  out.set("eigen", build.eigen);
  return out;
}

val ops() {
  val out = val::array();
  for (const auto& name : scorecrl::listOps()) out.call<void>("push", name);
  return out;
}

}  // namespace

EMSCRIPTEN_BINDINGS(scorecrl) {
  emscripten::function("call", &call);
  emscripten::function("info", &info);
  emscripten::function("ops", &ops);
}
