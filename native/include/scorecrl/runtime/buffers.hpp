// Recycling of large result arrays.
//
// A simulation returns hundreds of megabytes; on virtual machines the first
// write to each fresh page (a page fault and the kernel zeroing it) can cost
// more than computing the values written there. Bindings hand the storage of
// results the caller has released back here, and the core takes it again for
// the next large result, so repeated calls (sweeps, benchmarks, loops over
// seeds) write into memory that is already mapped.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace scorecrl::buffers {

// Arrays smaller than this are not pooled (malloc reuses them anyway).
constexpr size_t kMinPooledBytes = size_t(1) << 20;
// The pool holds at most this many bytes; storage beyond it is freed.
constexpr size_t kMaxPooledBytes = size_t(1) << 29;

// A vector of `count` values whose contents are unspecified: pooled storage
// when a pooled vector is large enough (the smallest such; its old values are
// kept, so nothing is written before the caller overwrites every value), else
// fresh zeroed storage. Zeroing fresh pages can take seconds for large
// arrays (page faults on virtual machines), so it is done in slices with
// `checkpoint` (e.g. a cancellation check, which may throw) called between.
std::vector<double> take(size_t count, const std::function<void()>& checkpoint = {});

// Returns a vector's storage to the pool (or frees it when it is small or
// the pool is full), values and all. The vector is left empty.
void give(std::vector<double>&& storage);

// Frees everything the pool holds; returns the bytes released.
size_t release();

// Bytes the pool holds now.
size_t pooledBytes();

}  // namespace scorecrl::buffers
