// N-API binding: marshals the operation table (scorecrl/ops.hpp) to JS.
//   call(op, arrays, numbers, strings)                     -> result (sync)
//   callAsync(op, arrays, numbers, strings, onProgress?, cancelFlag?) -> Promise<result>
//   info() -> build facts;  ops() -> operation names
//   release(arrayBuffer) -> bytes: detaches a result's buffer and gives its
//     storage back to the core's pool now (instead of when V8 collects it)
// arrays: { name: { data: Float64Array, shape: number[] } }. Input buffers are
// read in place (no copy); results come back as Float64Arrays.
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <new>
#include <unordered_map>

#include "scorecrl/buffers.hpp"
#include "scorecrl/ops.hpp"

namespace {

using scorecrl::ArrayView;
using scorecrl::OpArgs;
using scorecrl::OpResult;

constexpr double kMaxSafeInteger = 9007199254740991.0;

[[noreturn]] void throwJs(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

// Checks one { data, shape } entry and returns a view of it. `keep` collects
// references that must outlive an async call.
ArrayView parseArray(Napi::Env env, const std::string& op, const std::string& name, Napi::Value value,
                     std::vector<Napi::Reference<Napi::Value>>* keep) {
  const std::string where = op + ": array argument '" + name + "'";
  if (!value.IsObject()) throwJs(env, where + " must be an object { data: Float64Array, shape: number[] }");
  Napi::Object entry = value.As<Napi::Object>();
  Napi::Value data = entry.Get("data");
  Napi::Value shape = entry.Get("shape");
  if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throwJs(env, where + ": data must be a Float64Array (got " +
                     (data.IsTypedArray() ? std::string("another typed array") : std::string("a non-typed-array value")) +
                     "); convert with Float64Array.from(...)");
  if (!shape.IsArray()) throwJs(env, where + ": shape must be an array of sizes");
  Napi::Array dims = shape.As<Napi::Array>();
  ArrayView view;
  uint64_t total = 1;
  for (uint32_t i = 0; i < dims.Length(); ++i) {
    Napi::Value dim = dims.Get(i);
    if (!dim.IsNumber()) throwJs(env, where + ": shape[" + std::to_string(i) + "] must be a number");
    const double s = dim.As<Napi::Number>().DoubleValue();
    if (!(s >= 0) || s != std::floor(s) || s > kMaxSafeInteger)
      throwJs(env, where + ": shape[" + std::to_string(i) + "] must be a non-negative integer");
    const uint64_t size = static_cast<uint64_t>(s);
    if (size != 0 && total > std::numeric_limits<uint64_t>::max() / size)
      throwJs(env, where + ": the product of shape overflows");
    total *= size;
    view.shape.push_back(static_cast<int64_t>(size));
  }
  Napi::Float64Array typed = data.As<Napi::Float64Array>();
  if (total != typed.ElementLength())
    throwJs(env, where + ": shape implies " + std::to_string(total) + " values but data has " +
                     std::to_string(typed.ElementLength()));
  view.data = typed.Data();
  if (keep) keep->push_back(Napi::Persistent(data));
  return view;
}

OpArgs parseArgs(const Napi::CallbackInfo& info, std::vector<Napi::Reference<Napi::Value>>* keep) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsObject() || !info[2].IsObject() || !info[3].IsObject())
    throwJs(env, "call(op, arrays, numbers, strings): expected a string and three objects");
  OpArgs args;
  args.op = info[0].As<Napi::String>().Utf8Value();
  Napi::Object arrays = info[1].As<Napi::Object>();
  Napi::Array names = arrays.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    args.arrays[name] = parseArray(env, args.op, name, arrays.Get(name), keep);
  }
  Napi::Object numbers = info[2].As<Napi::Object>();
  names = numbers.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    Napi::Value v = numbers.Get(name);
    if (v.IsBoolean()) {
      args.numbers[name] = v.As<Napi::Boolean>().Value() ? 1.0 : 0.0;
    } else if (v.IsNumber()) {
      args.numbers[name] = v.As<Napi::Number>().DoubleValue();
    } else {
      throwJs(env, args.op + ": option '" + name + "' must be a number");
    }
  }
  Napi::Object strings = info[3].As<Napi::Object>();
  names = strings.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    Napi::Value v = strings.Get(name);
    if (!v.IsString()) throwJs(env, args.op + ": option '" + name + "' must be a string");
    args.strings[name] = v.As<Napi::String>().Utf8Value();
  }
  return args;
}

// Bytes of result vectors currently lent to JS as external ArrayBuffers.
// Node frees those only when the event loop turns (their finalizers are
// deferred), so a synchronous loop of large calls would pile them up; past
// this budget results are copied into buffers V8 owns, which its garbage
// collector frees on its own.
std::atomic<size_t> externalBytes{0};
constexpr size_t kExternalBudget = size_t(1) << 30;

// Vectors lent as external ArrayBuffers, by data address, so that release()
// can give a result's storage back early. Touched on the JS thread only
// (results are converted and finalized there).
std::unordered_map<const void*, std::vector<double>*> lentVectors;

Napi::Float64Array copiedFloat64Array(Napi::Env env, const std::vector<double>& data) {
  Napi::ArrayBuffer arrayBuffer = Napi::ArrayBuffer::New(env, data.size() * sizeof(double));
  std::copy(data.begin(), data.end(), static_cast<double*>(arrayBuffer.Data()));
  return Napi::Float64Array::New(env, data.size(), arrayBuffer, 0);
}

// Moves a result's vector into an external ArrayBuffer where allowed (Node)
// and within the budget, else copies (also where the runtime forbids
// external memory, as in Electron's sandbox).
Napi::Float64Array toFloat64Array(Napi::Env env, std::vector<double>&& data) {
  const size_t count = data.size();
  const size_t bytes = count * sizeof(double);
  if (externalBytes.load() + bytes > kExternalBudget) {
    Napi::Float64Array copy = copiedFloat64Array(env, data);
    scorecrl::buffers::give(std::move(data));
    return copy;
  }
  auto* owned = new std::vector<double>(std::move(data));
  napi_value buffer;
  napi_status status = napi_create_external_arraybuffer(
      env, owned->data(), bytes,
      [](napi_env, void*, void* hint) {
        auto* vector = static_cast<std::vector<double>*>(hint);
        // Empty when release() gave the storage back already.
        if (!vector->empty()) {
          lentVectors.erase(vector->data());
          externalBytes.fetch_sub(vector->size() * sizeof(double));
          scorecrl::buffers::give(std::move(*vector));
        }
        delete vector;
      },
      owned, &buffer);
  if (status != napi_ok) {
    Napi::Float64Array copy = copiedFloat64Array(env, *owned);
    scorecrl::buffers::give(std::move(*owned));
    delete owned;
    return copy;
  }
  externalBytes.fetch_add(bytes);
  if (count != 0) lentVectors[owned->data()] = owned;
  return Napi::Float64Array::New(env, count, Napi::ArrayBuffer(env, buffer), 0);
}

Napi::Object toJs(Napi::Env env, OpResult&& result) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Object arrays = Napi::Object::New(env);
  for (auto& entry : result.arrays) {
    Napi::Object a = Napi::Object::New(env);
    Napi::Array shape = Napi::Array::New(env, entry.second.shape.size());
    for (size_t i = 0; i < entry.second.shape.size(); ++i)
      shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(entry.second.shape[i])));
    a.Set("data", toFloat64Array(env, std::move(entry.second.data)));
    a.Set("shape", shape);
    arrays.Set(entry.first, a);
  }
  Napi::Object numbers = Napi::Object::New(env);
  for (const auto& entry : result.numbers) numbers.Set(entry.first, entry.second);
  Napi::Object strings = Napi::Object::New(env);
  for (const auto& entry : result.strings) strings.Set(entry.first, entry.second);
  out.Set("arrays", arrays);
  out.Set("numbers", numbers);
  out.Set("strings", strings);
  return out;
}

std::string describe(const std::exception& e) { return e.what(); }

Napi::Value Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpArgs args = parseArgs(info, nullptr);
  OpResult result;
  try {
    result = scorecrl::runOp(args.op, args, scorecrl::Context());
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, args.op + ": out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, describe(e));
  }
  return toJs(env, std::move(result));
}

struct ProgressReport {
  double fraction;
  std::string message;
};

class OpWorker : public Napi::AsyncProgressQueueWorker<ProgressReport> {
 public:
  OpWorker(Napi::Env env, OpArgs args, std::vector<Napi::Reference<Napi::Value>> keep, Napi::Function onProgress,
           const int32_t* cancelFlag)
      : Napi::AsyncProgressQueueWorker<ProgressReport>(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        args_(std::move(args)),
        keep_(std::move(keep)),
        cancelFlag_(cancelFlag) {
    if (!onProgress.IsEmpty()) onProgress_ = Napi::Persistent(onProgress);
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute(const ExecutionProgress& progress) override {
    scorecrl::Context context;
    if (!onProgress_.IsEmpty()) {
      context.onProgress = [&progress](double fraction, const std::string& message) {
        ProgressReport report{fraction, message};
        progress.Send(&report, 1);
      };
    }
    if (cancelFlag_) {
      const volatile int32_t* flag = cancelFlag_;
      context.isCancelled = [flag]() { return *flag != 0; };
    }
    try {
      result_ = scorecrl::runOp(args_.op, args_, context);
    } catch (const std::bad_alloc&) {
      SetError(args_.op + ": out of memory");
    } catch (const std::exception& e) {
      SetError(describe(e));
    }
  }

  void OnProgress(const ProgressReport* reports, size_t count) override {
    Napi::HandleScope scope(Env());
    for (size_t i = 0; i < count; ++i)
      onProgress_.Call({Napi::Number::New(Env(), reports[i].fraction), Napi::String::New(Env(), reports[i].message)});
  }

  void OnOK() override { deferred_.Resolve(toJs(Env(), std::move(result_))); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  OpArgs args_;
  std::vector<Napi::Reference<Napi::Value>> keep_;
  Napi::FunctionReference onProgress_;
  const int32_t* cancelFlag_;
  OpResult result_;
};

Napi::Value CallAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<Napi::Reference<Napi::Value>> keep;
  OpArgs args = parseArgs(info, &keep);
  Napi::Function onProgress;
  if (info.Length() > 4 && info[4].IsFunction()) onProgress = info[4].As<Napi::Function>();
  const int32_t* cancelFlag = nullptr;
  if (info.Length() > 5 && info[5].IsTypedArray()) {
    if (info[5].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throwJs(env, args.op + ": cancel flag must be an Int32Array");
    cancelFlag = info[5].As<Napi::Int32Array>().Data();
    keep.push_back(Napi::Persistent(info[5]));
  }
  auto* worker = new OpWorker(env, std::move(args), std::move(keep), onProgress, cancelFlag);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  scorecrl::BuildInfo build = scorecrl::buildInfo();
  Napi::Object out = Napi::Object::New(env);
  out.Set("version", build.version);
  out.Set("simd", build.simd);
  out.Set("blas", build.blas);
  out.Set("threads", build.threads);
  out.Set("eigen", build.eigen);
  return out;
}

Napi::Value Ops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> names = scorecrl::listOps();
  Napi::Array out = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); ++i) out.Set(static_cast<uint32_t>(i), names[i]);
  return out;
}

// release(arrayBuffer): when the buffer holds a lent result, detaches it (its
// views become empty) and gives the storage to the pool; returns the bytes
// given back (0 for any other buffer, which is left alone).
Napi::Value Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) throwJs(env, "release: expected an ArrayBuffer");
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (buffer.ByteLength() == 0) return Napi::Number::New(env, 0);
  const auto found = lentVectors.find(buffer.Data());
  if (found == lentVectors.end()) return Napi::Number::New(env, 0);
  // Take the storage out first: the finalizer, whenever it runs, then finds
  // the vector empty and only deletes it.
  std::vector<double> storage = std::move(*found->second);
  found->second->clear();
  lentVectors.erase(found);
  const size_t bytes = storage.size() * sizeof(double);
  externalBytes.fetch_sub(bytes);
  buffer.Detach();
  scorecrl::buffers::give(std::move(storage));
  return Napi::Number::New(env, static_cast<double>(bytes));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("call", Napi::Function::New(env, Call));
  exports.Set("callAsync", Napi::Function::New(env, CallAsync));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("ops", Napi::Function::New(env, Ops));
  exports.Set("release", Napi::Function::New(env, Release));
  return exports;
}

}  // namespace

NODE_API_MODULE(scorecrl, Init)
