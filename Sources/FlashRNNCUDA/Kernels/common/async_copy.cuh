// cp.async (sm_80+): global → shared copies that bypass the registers and complete per commit
// group, counted separately from ordinary loads. ptxas puts every global load of a loop on one
// scoreboard and a consumer waits until it is empty, so a value loaded a step ahead is still
// waited for together with the loads issued after it; a ring of cp.async groups with
// `cp.async.wait_group` waits for exactly the oldest groups.
#pragma once

namespace flashrnn {

// The 32-bit shared-state-space address of a pointer into shared memory.
__device__ __forceinline__ unsigned shared_address(const void* p) {
    unsigned a;
    asm("{ .reg .u64 s; cvta.to.shared.u64 s, %1; cvt.u32.u64 %0, s; }" : "=r"(a) : "l"(p));
    return a;
}

// Copies 16 bytes from `global` (16-byte aligned) to `shared` (16-byte aligned) through L2 only;
// where !valid, writes 16 zero bytes and reads nothing.
__device__ __forceinline__ void copy16_async(unsigned shared, const void* global, bool valid) {
    asm volatile("{ .reg .u64 g; cvta.to.global.u64 g, %1; cp.async.cg.shared.global [%0], [g], 16, %2; }"
                 :: "r"(shared), "l"(global), "r"(valid ? 16 : 0) : "memory");
}

// Closes the copies issued since the last commit into one group.
__device__ __forceinline__ void commit_async_copies() { asm volatile("cp.async.commit_group;" ::: "memory"); }

// Waits until at most N of this thread's groups are still in flight (their copies then are in
// shared memory, visible to this thread; other threads see them after a barrier).
template <int N>
__device__ __forceinline__ void wait_async_groups() { asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory"); }

}  // namespace flashrnn
