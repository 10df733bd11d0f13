namespace Memspace.Cli;

/// <summary>
/// A failure a command reports: <see cref="MemspaceCli.Run"/> prints it as one line on standard
/// error (<c>memspace: MESSAGE</c>) and exits with <see cref="ExitCode"/>.
/// </summary>
internal sealed class CliError(int exitCode, string message) : Exception(message)
{
    /// <summary>Exit code for input the user gave that cannot be used (an option, a file, a size).</summary>
    public const int BadInput = 2;

    /// <summary>Exit code for a failure while doing the work (the guest, the output, the host).</summary>
    public const int Failure = 1;

    public int ExitCode { get; } = exitCode;

    /// <summary>Bad input: exit code 2.</summary>
    public static CliError Input(string message) => new(BadInput, message);

    /// <summary>A runtime failure: exit code 1.</summary>
    public static CliError Runtime(string message) => new(Failure, message);

    /// <summary>
    /// A file the user named cannot be written: a path that cannot be opened there (no such
    /// directory, no permission) is bad input (2); a write that fails on the way (a full disk) is a
    /// failure (1).
    /// </summary>
    public static CliError Output(string path, Exception e)
        => new(e is DirectoryNotFoundException or UnauthorizedAccessException ? BadInput : Failure,
               $"cannot write '{path}': {e.Message.Split(" : '")[0]}");
}
