// N-API binding: marshals the operation table (scorecrl/runtime/ops.hpp) to JS.
//   call(op, arrays, numbers, strings)                     -> result (sync)
//   callAsync(op, arrays, numbers, strings, onProgress?, cancelFlag?) -> Promise<result>
//   info() -> build facts;  ops() -> operation names
//   release(arrayBuffer) -> bytes: detaches a result's buffer and gives its
//     storage back to the core's pool now (instead of when V8 collects it)
// arrays: { name: { data: Float64Array, shape: number[] } }. Synchronous calls
// read input buffers in place; asynchronous calls own theirs (OwnedInputs).
// Results come back as Float64Arrays. Safe to use from any number of worker
// threads at once (each its own napi_env).
// With this, an error that cannot be thrown because the env is shutting down
// (a worker being terminated, the process exiting) is dropped by
// node-addon-api instead of escaping as a C++ exception into libuv or V8,
// where it would abort the process. Defined here so every build of the addon
// (node-gyp, cmake-js) gets it.
#ifndef NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
#define NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
#endif
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <unordered_map>

#include "scorecrl/runtime/buffers.hpp"
#include "scorecrl/runtime/limits.hpp"
#include "scorecrl/runtime/ops.hpp"

namespace {

using scorecrl::ArrayView;
using scorecrl::OpArgs;
using scorecrl::OpResult;

constexpr double kMaxSafeInteger = 9007199254740991.0;

// An argument the binding cannot read: a TypeError with the core's code.
[[noreturn]] void throwJs(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Value().Set("code", "invalid-argument");
  throw error;
}

class OwnedInputs;
void ownInput(OwnedInputs& owned, ArrayView& view, const Napi::Float64Array& typed);

// Checks one { data, shape } entry and returns a view of it: of the caller's
// memory (synchronous calls, during which no JS runs), or of storage owned by
// the call (`owned`, asynchronous calls).
ArrayView parseArray(Napi::Env env, const std::string& op, const std::string& name, Napi::Value value,
                     OwnedInputs* owned) {
  const std::string where = op + ": array argument '" + name + "'";
  if (!value.IsObject()) throwJs(env, where + " must be an object { data: Float64Array, shape: number[] }");
  Napi::Object entry = value.As<Napi::Object>();
  Napi::Value data = entry.Get("data");
  Napi::Value shape = entry.Get("shape");
  if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throwJs(env,
            where + ": data must be a Float64Array (got " +
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
  if (owned)
    ownInput(*owned, view, typed);
  else
    view.data = typed.Data();
  return view;
}

OpArgs parseArgs(const Napi::CallbackInfo& info, OwnedInputs* owned) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsObject() || !info[2].IsObject() || !info[3].IsObject())
    throwJs(env, "call(op, arrays, numbers, strings): expected a string and three objects");
  OpArgs args;
  args.op = info[0].As<Napi::String>().Utf8Value();
  Napi::Object arrays = info[1].As<Napi::Object>();
  Napi::Array names = arrays.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    args.arrays[name] = parseArray(env, args.op, name, arrays.Get(name), owned);
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

// A result vector lent to JS as an external ArrayBuffer. Its storage goes
// back to the core's pool once JS no longer holds it (release() or the
// finalizer) and no asynchronous call is reading it (pins); the record itself
// lives until the finalizer has run and no call holds it.
struct Lent {
  std::vector<double> storage;
  size_t bytes = 0;
  bool withJs = true;      // a live ArrayBuffer in some JS thread views it
  bool finalized = false;  // its ArrayBuffer's finalizer has run
  int pins = 0;            // asynchronous calls reading it as an input
};

// Lent vectors by data address, while withJs. Every worker thread (each its
// own napi_env) lends results and runs finalizers on its own thread, and an
// asynchronous call unpins from the thread that made it, so all access holds
// the lock. One registry for the process rather than one per env: the
// storage belongs to the process-wide pool, and a buffer's finalizer may run
// during its env's teardown, after per-env data is gone.
std::mutex lentMutex;
std::unordered_map<const void*, Lent*> lentVectors;

// Under lentMutex: ends JS's hold on `lent` (released or finalized).
void detachFromJs(Lent* lent) {
  if (!lent->withJs) return;
  lent->withJs = false;
  lentVectors.erase(lent->storage.data());
  externalBytes.fetch_sub(lent->bytes);
}

// Under lentMutex: the storage to give back (empty if still in use), and
// deletes the record when nothing refers to it any more.
std::vector<double> collect(Lent* lent) {
  std::vector<double> storage;
  if (!lent->withJs && lent->pins == 0) storage.swap(lent->storage);
  if (lent->finalized && lent->pins == 0) delete lent;
  return storage;
}

void finalizeLent(napi_env, void*, void* hint) {
  // Runs on the thread of the env that made the buffer, also during its
  // teardown: no N-API calls here, and nothing may throw.
  auto* lent = static_cast<Lent*>(hint);
  std::vector<double> storage;
  {
    std::lock_guard<std::mutex> lock(lentMutex);
    detachFromJs(lent);
    lent->finalized = true;
    storage = collect(lent);
  }
  scorecrl::buffers::give(std::move(storage));
}

Napi::Float64Array copiedFloat64Array(Napi::Env env, const std::vector<double>& data) {
  Napi::ArrayBuffer arrayBuffer = Napi::ArrayBuffer::New(env, data.size() * sizeof(double));
  if (!data.empty()) std::copy(data.begin(), data.end(), static_cast<double*>(arrayBuffer.Data()));
  return Napi::Float64Array::New(env, data.size(), arrayBuffer, 0);
}

// Moves a result's vector into an external ArrayBuffer where allowed (Node)
// and within the budget, else copies (also where the runtime forbids
// external memory, as in Electron's sandbox). Empty results get an ordinary
// empty buffer: Node detaches an external buffer over no storage.
Napi::Float64Array toFloat64Array(Napi::Env env, std::vector<double>&& data) {
  const size_t count = data.size();
  const size_t bytes = count * sizeof(double);
  if (count == 0 || externalBytes.load() + bytes > kExternalBudget) {
    Napi::Float64Array copy = copiedFloat64Array(env, data);
    scorecrl::buffers::give(std::move(data));
    return copy;
  }
  auto* lent = new Lent();
  lent->storage = std::move(data);
  lent->bytes = bytes;
  void* address = lent->storage.data();
  napi_value buffer;
  {
    // Registered before the buffer exists: its finalizer may run on another
    // thread's teardown only after this returns, but must find the record.
    std::lock_guard<std::mutex> lock(lentMutex);
    lentVectors[address] = lent;
    externalBytes.fetch_add(bytes);
  }
  const napi_status status = napi_create_external_arraybuffer(env, address, bytes, finalizeLent, lent, &buffer);
  if (status != napi_ok) {
    std::vector<double> storage;
    {
      std::lock_guard<std::mutex> lock(lentMutex);
      detachFromJs(lent);
      storage.swap(lent->storage);
      delete lent;
    }
    Napi::Float64Array copy = copiedFloat64Array(env, storage);
    scorecrl::buffers::give(std::move(storage));
    return copy;
  }
  return Napi::Float64Array::New(env, count, Napi::ArrayBuffer(env, buffer), 0);
}

// The inputs of an asynchronous call, owned by the call. JS keeps running
// while the core reads them, and could detach an input's buffer (transfer it
// to a worker, structuredClone with transfer, release() a result) and let its
// memory be freed or reused: N-API cannot prevent a detach. So an input that
// is one of our lent results is pinned (release() and the finalizer then
// leave its storage alone until the call ends; Node clones, never moves, such
// buffers on transfer), and any other input is copied into pooled storage.
class OwnedInputs {
 public:
  explicit OwnedInputs(std::string op) : op_(std::move(op)) {}
  OwnedInputs(const OwnedInputs&) = delete;
  OwnedInputs& operator=(const OwnedInputs&) = delete;
  ~OwnedInputs() {
    for (auto& copy : copies_) scorecrl::buffers::give(std::move(copy));
    for (Lent* lent : pins_) {
      std::vector<double> storage;
      {
        std::lock_guard<std::mutex> lock(lentMutex);
        --lent->pins;
        storage = collect(lent);
      }
      scorecrl::buffers::give(std::move(storage));
    }
  }

  // Points `view` at storage this call owns or has pinned.
  void own(ArrayView& view, const Napi::Float64Array& typed) {
    const size_t count = typed.ElementLength();
    if (count == 0) {
      view.data = nullptr;
      return;
    }
    // The buffer's start from the view's data pointer: typed.ArrayBuffer()
    // cannot wrap a SharedArrayBuffer (napi_get_arraybuffer_info refuses it),
    // and shared inputs are simply copied below.
    const size_t offset = typed.ByteOffset();
    const void* start = static_cast<const uint8_t*>(static_cast<const void*>(typed.Data())) - offset;
    {
      std::lock_guard<std::mutex> lock(lentMutex);
      const auto found = lentVectors.find(start);
      if (found != lentVectors.end() && offset + count * sizeof(double) <= found->second->bytes) {
        Lent* lent = found->second;
        ++lent->pins;
        pins_.push_back(lent);
        view.data = lent->storage.data() + offset / sizeof(double);
        return;
      }
    }
    // The copies count towards what the call may allocate.
    copiedBytes_ += count * sizeof(double);
    if (copiedBytes_ > scorecrl::limits::maxCallBytes())
      throw scorecrl::OutOfMemory(
          op_, "copying the inputs of this asynchronous call needs " +
                   scorecrl::limits::bytesText(static_cast<double>(copiedBytes_)) + ", more than the limit of " +
                   scorecrl::limits::bytesText(static_cast<double>(scorecrl::limits::maxCallBytes())) +
                   " per call; use the synchronous call, which reads its inputs in place");
    std::vector<double> copy = scorecrl::buffers::take(count);
    std::memcpy(copy.data(), typed.Data(), count * sizeof(double));
    view.data = copy.data();
    copies_.push_back(std::move(copy));
  }

 private:
  std::string op_;
  std::vector<std::vector<double>> copies_;
  std::vector<Lent*> pins_;
  size_t copiedBytes_ = 0;
};

void ownInput(OwnedInputs& owned, ArrayView& view, const Napi::Float64Array& typed) { owned.own(view, typed); }

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

// A failed operation: its message ("op: ...") and the core's error code.
struct Failure {
  std::string message;
  const char* code;
};

Failure failureOf(const std::string& op, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const scorecrl::Error& e) {
    return {e.what(), scorecrl::errorCodeName(e.code())};
  } catch (const std::bad_alloc&) {
    return {op + ": out of memory (the system refused an allocation; use smaller inputs)", "out-of-memory"};
  } catch (const std::exception& e) {
    return {e.what(), "internal"};
  } catch (...) {
    return {op + ": failed with an unknown error", "internal"};
  }
}

Napi::Error jsError(Napi::Env env, const Failure& failure) {
  Napi::Error error = Napi::Error::New(env, failure.message);
  error.Value().Set("code", failure.code);
  return error;
}

Napi::Value Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpArgs args = parseArgs(info, nullptr);
  OpResult result;
  try {
    result = scorecrl::runOp(args.op, args, scorecrl::Context());
  } catch (...) {
    throw jsError(env, failureOf(args.op, std::current_exception()));
  }
  // A Napi::Error from here on (the env of a terminating worker refuses new
  // values) is turned into a JS exception by node-addon-api, or dropped when
  // none can be thrown (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS).
  return toJs(env, std::move(result));
}

struct ProgressReport {
  double fraction;
  std::string message;
};

// Drops a pending JS exception (one a failed N-API call left behind).
void clearPendingException(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
}

// Settles a promise from a completion callback. These run from libuv and
// from a thread-safe function's finalizer, where an escaping C++ exception
// would terminate the process. A result that cannot be made into JS values
// rejects the promise with the reason; while the env is being torn down (a
// worker terminated, the process exiting) no JS value can be made and the
// promise can no longer be observed, so failures are dropped there.
template <typename Settle>
void settleSafely(Napi::Env env, Napi::Promise::Deferred& deferred, Settle settle) {
  try {
    settle();
    return;
  } catch (const Napi::Error& error) {
    try {
      clearPendingException(env);
      if (!error.IsEmpty()) deferred.Reject(error.Value());
    } catch (...) {
    }
  } catch (const std::exception& error) {
    try {
      clearPendingException(env);
      deferred.Reject(Napi::Error::New(env, error.what()).Value());
    } catch (...) {
    }
  } catch (...) {
  }
  clearPendingException(env);
}

class OpWorker : public Napi::AsyncProgressQueueWorker<ProgressReport> {
 public:
  OpWorker(Napi::Env env, std::unique_ptr<OwnedInputs> inputs, OpArgs args, Napi::Function onProgress,
           Napi::Int32Array cancelFlag)
      : Napi::AsyncProgressQueueWorker<ProgressReport>(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        inputs_(std::move(inputs)),
        args_(std::move(args)) {
    if (!onProgress.IsEmpty()) onProgress_ = Napi::Persistent(onProgress);
    if (!cancelFlag.IsEmpty()) {
      cancelFlag_ = cancelFlag.Data();
      cancelRef_ = Napi::Persistent(static_cast<Napi::Value>(cancelFlag));
    }
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
      // The flag's Int32Array is made and kept by the facade (never exposed,
      // never detached) and referenced by this call until it completes.
      const volatile int32_t* flag = cancelFlag_;
      context.isCancelled = [flag]() { return *flag != 0; };
    }
    try {
      result_ = scorecrl::runOp(args_.op, args_, context);
    } catch (...) {
      const Failure failure = failureOf(args_.op, std::current_exception());
      failureCode_ = failure.code;
      SetError(failure.message);
    }
  }

  void OnProgress(const ProgressReport* reports, size_t count) override {
    // A throwing callback must not escape into the thread-safe function's
    // dispatcher; the facade wraps onProgress, so this only drops reports
    // that could not be delivered (a terminating env).
    try {
      Napi::HandleScope scope(Env());
      for (size_t i = 0; i < count; ++i)
        onProgress_.Call({Napi::Number::New(Env(), reports[i].fraction), Napi::String::New(Env(), reports[i].message)});
    } catch (...) {
    }
  }

  void OnOK() override {
    settleSafely(Env(), deferred_, [this]() { deferred_.Resolve(toJs(Env(), std::move(result_))); });
  }
  void OnError(const Napi::Error& error) override {
    settleSafely(Env(), deferred_, [this, &error]() {
      Napi::Object value = error.Value();
      value.Set("code", failureCode_);
      deferred_.Reject(value);
    });
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<OwnedInputs> inputs_;  // before args_, whose views point into it
  OpArgs args_;
  Napi::FunctionReference onProgress_;
  const int32_t* cancelFlag_ = nullptr;
  Napi::Reference<Napi::Value> cancelRef_;
  OpResult result_;
  std::string failureCode_ = "internal";  // the core's code of the failure SetError reports
};

Napi::Value CallAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string op = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "callAsync";
  auto inputs = std::make_unique<OwnedInputs>(op);
  OpArgs args;
  try {
    args = parseArgs(info, inputs.get());
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    // Only Napi::Error may leave a callback (node-addon-api turns it into a
    // JS exception); anything else would abort the process.
    throw jsError(env, failureOf(op, std::current_exception()));
  }
  Napi::Function onProgress;
  if (info.Length() > 4 && info[4].IsFunction()) onProgress = info[4].As<Napi::Function>();
  Napi::Int32Array cancelFlag;
  if (info.Length() > 5 && info[5].IsTypedArray()) {
    if (info[5].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        info[5].As<Napi::Int32Array>().ElementLength() < 1)
      throwJs(env, args.op + ": cancel flag must be an Int32Array of length 1");
    cancelFlag = info[5].As<Napi::Int32Array>();
  }
  auto* worker = new OpWorker(env, std::move(inputs), std::move(args), onProgress, cancelFlag);
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
// views become empty) and gives the storage to the pool (once no
// asynchronous call still reads it); returns the bytes given back (0 for any
// other buffer, which is left alone).
Napi::Value Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) throwJs(env, "release: expected an ArrayBuffer");
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  if (buffer.ByteLength() == 0) return Napi::Number::New(env, 0);
  size_t bytes = 0;
  std::vector<double> storage;
  {
    std::lock_guard<std::mutex> lock(lentMutex);
    const auto found = lentVectors.find(buffer.Data());
    if (found == lentVectors.end() || found->second->bytes != buffer.ByteLength()) return Napi::Number::New(env, 0);
    Lent* lent = found->second;
    bytes = lent->bytes;
    detachFromJs(lent);
    storage = collect(lent);
  }
  // Detached before the storage can be reused, so no view sees it change.
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
