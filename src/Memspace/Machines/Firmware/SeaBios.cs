namespace Memspace.Machines.Firmware;

/// <summary>Finds Debian's SeaBIOS image (package <c>seabios</c>).</summary>
public static class SeaBios
{
    /// <summary>Where Debian installs the 256 KiB image QEMU's pc and q35 load.</summary>
    public const string DebianImage = "/usr/share/seabios/bios-256k.bin";

    /// <summary>
    /// Resolves a <c>--firmware</c> argument: "seabios" means <see cref="DebianImage"/>; anything else is
    /// a path. Returns the image, or null with a one-line reason (and install advice for "seabios").
    /// </summary>
    /// <param name="argument">"seabios" or a path.</param>
    /// <param name="error">Why it could not be read.</param>
    public static byte[]? Load(string argument, out string? error)
    {
        ArgumentNullException.ThrowIfNull(argument);
        string path = argument == "seabios" ? DebianImage : argument;
        try
        {
            error = null;
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = argument == "seabios" && !File.Exists(DebianImage)
                ? $"SeaBIOS is not installed ({DebianImage} is missing); install it with 'apt-get install seabios'"
                : $"cannot read firmware '{path}': {e.Message}";
            return null;
        }
    }
}
