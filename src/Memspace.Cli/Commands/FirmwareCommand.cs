using System.CommandLine;
using Memspace.Cli.Guest;

namespace Memspace.Cli.Commands;

/// <summary><c>memspace firmware</c>: writes the built-in guest of <c>memspace run</c> as a BIOS image.</summary>
internal static class FirmwareCommand
{
    public static Command Create()
    {
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the image.", Required = true };
        var size = new Option<string>("--size") { Description = "Image size: 256K (pc, q35) or 64K (microvm).", DefaultValueFactory = _ => "256K" };
        var command = new Command("firmware", "Write the built-in demo guest as a BIOS image, for example to run it in QEMU with -bios.")
        {
            output, size,
        };
        command.SetAction(parse =>
        {
            string sizeText = parse.GetValue(size)!;
            if (!Machines.RamSize.TryParse(sizeText, out ulong bytes, out string? why) || bytes == 0 || bytes % 0x10000 != 0 || bytes > (16 << 20))
            {
                throw CliError.Input($"bad --size '{sizeText}': {why ?? "it must be a non-zero multiple of 64K, at most 16M"}");
            }
            FileInfo file = parse.GetValue(output)!;
            if (Directory.Exists(file.FullName))
            {
                throw CliError.Input($"cannot write '{file}': it is a directory");
            }
            try
            {
                File.WriteAllBytes(file.FullName, DemoFirmware.Build((int)bytes));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw CliError.Output(file.ToString(), e);
            }
            parse.InvocationConfiguration.Output.WriteLine($"wrote {file.FullName} ({bytes / 1024} KiB); try: qemu-system-x86_64 -M q35 -nodefaults -display none -serial stdio -bios {file.Name}");
            return 0;
        });
        return command;
    }
}
