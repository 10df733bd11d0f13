using Memspace.Cli;

return MemspaceCli.Run(args, Console.Out, Console.Error);
