await WorkerCommand.main()
