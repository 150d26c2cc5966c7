import ServerApp

await PortcullisCommand.main()
