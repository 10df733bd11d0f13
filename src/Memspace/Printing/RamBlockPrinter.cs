using System.Globalization;
using System.Text;
using Memspace.Ram;

namespace Memspace.Printing;

/// <summary>Prints the RAMBlocks the way QEMU 7.2's <c>info ramblock</c> does.</summary>
public static class RamBlockPrinter
{
    /// <summary>Prints the header and one row per block, in RAMList order.</summary>
    /// <param name="ramList">The blocks.</param>
    /// <param name="writer">Where to print.</param>
    public static void Print(RamList ramList, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(ramList);
        ArgumentNullException.ThrowIfNull(writer);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{"Block Name",24} {"PSize",8}  {"Offset",18} {"Used",18} {"Total",18}\n");
        foreach (RamBlock block in ramList.Blocks)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"{block.IdStr,24} {SizeToString(block.PageSize),8}  0x{block.Offset:x16} 0x{block.UsedLength:x16} 0x{block.MaxLength:x16}\n");
        }
        writer.Write(sb.ToString());
    }

    /// <summary>Returns <see cref="Print"/>'s output as a string.</summary>
    /// <param name="ramList">The blocks.</param>
    public static string ToText(RamList ramList)
    {
        var sw = new StringWriter();
        Print(ramList, sw);
        return sw.ToString();
    }

    /// <summary>
    /// QEMU's <c>size_to_str</c>: the value in the largest binary unit that keeps it below 1000,
    /// with three significant digits ("4 KiB", "2 MiB", "1.5 GiB").
    /// </summary>
    /// <param name="value">A size in bytes.</param>
    public static string SizeToString(ulong value)
    {
        double scaled = value / (1000.0 / 1024.0);
        int exponent = scaled < 1 ? 0 : Math.ILogB(scaled);
        int unit = exponent / 10 * 10;
        double shown = value / (double)(1UL << unit);
        string prefix = unit switch
        {
            0 => "",
            10 => "Ki",
            20 => "Mi",
            30 => "Gi",
            40 => "Ti",
            50 => "Pi",
            _ => "Ei",
        };
        return FormatG3(shown) + " " + prefix + "B";
    }

    /// <summary>C's <c>%0.3g</c>.</summary>
    private static string FormatG3(double value)
    {
        if (value == 0)
        {
            return "0";
        }
        int digitsBefore = (int)Math.Floor(Math.Log10(Math.Abs(value))) + 1;
        if (digitsBefore > 3 || digitsBefore < -3)
        {
            // %g switches to exponent form; with sizes below 1000 after scaling this is not reached.
            return value.ToString("0.##e+00", CultureInfo.InvariantCulture);
        }
        int decimals = Math.Max(0, 3 - digitsBefore);
        double rounded = Math.Round(value, decimals, MidpointRounding.ToEven);
        return rounded >= 1000 ? "1e+03" : rounded.ToString("0." + new string('#', decimals), CultureInfo.InvariantCulture);
    }
}
