using System.Text;
using Memspace.Json;
using Memspace.Machines;

namespace Memspace.Cli.Commands;

/// <summary>
/// Turns what <c>memspace run</c> says about its guest (serial lines "guest| ...", then "guest: REASON:
/// DETAIL") into the <see cref="GuestOutcome"/> of its JSON document.
/// </summary>
internal static class RunJsonGuest
{
    public static GuestOutcome Outcome(Machine machine, string text, int exitCode)
    {
        bool ran = machine.CanRunGuest;
        var serial = new StringBuilder();
        var detail = new StringBuilder();
        string? stop = null;
        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith("guest| ", StringComparison.Ordinal))
            {
                serial.Append(line.AsSpan(7)).Append('\n');
            }
            else if (line.StartsWith("guest: ", StringComparison.Ordinal))
            {
                string rest = line[7..];
                int colon = rest.IndexOf(": ", StringComparison.Ordinal);
                if (ran && colon > 0 && Enum.TryParse<Vcpus.VcpuStopReason>(rest[..colon], out _))
                {
                    stop = rest[..colon];
                    rest = rest[(colon + 2)..];
                }
                detail.Append(rest);
            }
        }
        return new GuestOutcome(ran, stop, detail.Length == 0 ? null : detail.ToString(), exitCode, serial.ToString());
    }
}
