import ServiceLifecycle

/// A step of the worker's shutdown sequence as a service: it does nothing until its graceful
/// shutdown, then runs `action` once and finishes. A `ServiceGroup` shuts its services down one at
/// a time in the reverse order of their listing, so listed between two services the action runs
/// after the later one has stopped and before the earlier one is told to stop. When the group is
/// cancelled instead (an abnormal end), the action is skipped.
struct ShutdownAction: Service {
    /// What the step is, for logs and errors.
    let name: String
    /// The work done at shutdown.
    let action: @Sendable () async -> Void

    /// A step called `name` that runs `action` at graceful shutdown.
    init(name: String, action: @escaping @Sendable () async -> Void) {
        self.name = name
        self.action = action
    }

    /// Waits for graceful shutdown, then runs the action; returns at once on cancellation.
    func run() async {
        do {
            try await gracefulShutdown()
        } catch {
            return
        }
        await action()
    }
}
