import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A barrier the members of a team pass once per time step.
///
/// Steps are a few microseconds at small D, so waiting spins on an atomic counter instead of
/// sleeping in the kernel; after a while it yields, so a member whose partner was descheduled
/// (a busy machine) gives its core back instead of burning it.
@available(macOS 15.0, *)
final class StepBarrier: Sendable {
    private let arrivals = Atomic<Int>(0)
    let parties: Int

    init(parties: Int) { self.parties = parties }

    /// Blocks until every party has called `wait` as often as this caller; `passed` counts
    /// this caller's calls.
    func wait(_ passed: inout Int) {
        passed += 1
        if parties == 1 { return }
        let target = passed * parties
        arrivals.wrappingAdd(1, ordering: .acquiringAndReleasing)
        var spins = 0
        while arrivals.load(ordering: .acquiring) < target {
            spins += 1
            if spins >= 4096 { sched_yield(); spins = 0 }
        }
    }
}

/// Runs `body(member)` for `members` members on that many threads at once (the caller is
/// member 0). Members may wait for each other: unlike `concurrentPerform`, every member is
/// guaranteed its own thread. Returns false, having run nothing, when the threads cannot be
/// started; the caller then runs the work with one member.
@available(macOS 15.0, *)
func runTeam(_ members: Int, _ body: @escaping @Sendable (Int) -> Void) -> Bool {
    if members <= 1 { body(0); return true }
    final class Job: @unchecked Sendable {
        let body: @Sendable (Int) -> Void, member: Int, start: StartSignal
        init(_ body: @escaping @Sendable (Int) -> Void, _ member: Int, _ start: StartSignal) {
            self.body = body; self.member = member; self.start = start
        }
    }
    let start = StartSignal()
    var threads: [pthread_t] = []
    var started = true
    for member in 1..<members {
        let job = Unmanaged.passRetained(Job(body, member, start)).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t? = nil
        #endif
        let status = pthread_create(&thread, nil, { raw in
            #if canImport(Glibc)
            let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
            #else
            let job = Unmanaged<Job>.fromOpaque(raw).takeRetainedValue()
            #endif
            if job.start.await() { job.body(job.member) }
            return nil
        }, job)
        guard status == 0 else {
            Unmanaged<Job>.fromOpaque(job).release()
            started = false
            break
        }
        #if canImport(Glibc)
        threads.append(thread)
        #else
        threads.append(thread!)
        #endif
    }
    start.release(go: started)
    if started { body(0) }
    for thread in threads { pthread_join(thread, nil) }
    return started
}

/// Holds team members until every thread exists (go) or one could not be made (cancel).
@available(macOS 15.0, *)
private final class StartSignal: Sendable {
    private let state = Atomic<Int>(0)   // 0 waiting, 1 go, 2 cancel
    func release(go: Bool) { state.store(go ? 1 : 2, ordering: .releasing) }
    func await() -> Bool {
        while true {
            let s = state.load(ordering: .acquiring)
            if s != 0 { return s == 1 }
            sched_yield()
        }
    }
}
