import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `phases` phases of `unitsPerPhase` independent units each, in order: no unit of a
/// phase starts before every unit of the phase before it has finished.
///
/// Threads claim units one at a time from a shared counter instead of owning a fixed share:
/// on a busy machine a thread that loses its core while running a unit stalls the step only
/// by that unit, and the other thread does the rest. Waiting spins on an atomic (steps
/// are microseconds at small D) and yields after a while, so a waiting thread gives its core
/// back when its partner was descheduled.
@available(macOS 15.0, *)
final class PhaseSchedule: Sendable {
    private let claimed = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    let phases: Int, unitsPerPhase: Int

    init(phases: Int, unitsPerPhase: Int) {
        self.phases = phases; self.unitsPerPhase = unitsPerPhase
    }

    /// Claims and runs units until none are left. Every thread of the team calls this.
    ///
    /// A unit is claimed only once its phase is open, so a thread that waits (and perhaps
    /// yields its core) never holds a unit the other thread would then have to wait for.
    func work(_ body: (_ phase: Int, _ unit: Int) -> Void) {
        let total = phases * unitsPerPhase
        var spins = 0
        while true {
            let index = claimed.load(ordering: .relaxed)
            if index >= total { return }
            let phase = index / unitsPerPhase
            let ready = phase * unitsPerPhase
            if finished.load(ordering: .acquiring) < ready {
                spins += 1
                if spins >= 1 << 16 { sched_yield(); spins = 0 }
                continue
            }
            guard claimed.compareExchange(expected: index, desired: index + 1, ordering: .relaxed).exchanged else { continue }
            spins = 0
            body(phase, index - ready)
            finished.wrappingAdd(1, ordering: .releasing)
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
