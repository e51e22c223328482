import CacheProtocol

ParentWatch.startIfRequested()
await CoordinatorCommand.runCommandLine()
