await CoordinatorCommand.runCommandLine()
