using System.Globalization;

namespace Memspace.Machines;

/// <summary>
/// RAM sizes as QEMU's <c>-m</c> takes them (<c>qemu_strtosz_MiB</c>): a decimal or <c>0x</c> hex
/// number, an optional fraction, and an optional suffix B, K, M, G, T, P or E (powers of 1024, either
/// case). Without a suffix the unit is MiB, but, as QEMU checks such a number as bytes first, it may not
/// have a non-zero fraction (<c>1.5</c> and <c>1.5B</c> are refused, <c>1.0</c> and <c>1.5k</c> pass).
/// The result is rounded up to 8 KiB, as QEMU does.
/// </summary>
public static class RamSize
{
    /// <summary>Parses <paramref name="text"/>.</summary>
    /// <param name="text">For example <c>512</c>, <c>512M</c>, <c>1.5G</c>, <c>0x20000000B</c>.</param>
    /// <exception cref="FormatException">The text is not a size; the message says why.</exception>
    public static ulong Parse(string text)
        => TryParse(text, out ulong size, out string? error) ? size : throw new FormatException(error);

    /// <summary>Parses <paramref name="text"/>, or says why it is not a size.</summary>
    /// <param name="text">The size text.</param>
    /// <param name="size">The size in bytes, rounded up to 8 KiB.</param>
    /// <param name="error">Why the text was refused.</param>
    public static bool TryParse(string? text, out ulong size, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        size = 0;
        error = null;
        string s = (text ?? "").Trim();
        if (s.Length == 0)
        {
            error = "empty size";
            return false;
        }
        int i = 0;
        bool hex = s.Length > 2 && s[0] == '0' && (s[1] is 'x' or 'X');
        UInt128 whole = 0;
        double fraction = 0;
        if (hex)
        {
            i = 2;
            int start = i;
            while (i < s.Length && Uri.IsHexDigit(s[i]))
            {
                whole = (whole * 16) + (UInt128)Convert.ToInt32(s[i].ToString(), 16);
                if (whole > ulong.MaxValue)
                {
                    error = $"'{s}' is too large";
                    return false;
                }
                i++;
            }
            if (i == start)
            {
                error = $"'{s}' has no digits after 0x";
                return false;
            }
        }
        else
        {
            int start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                whole = (whole * 10) + (uint)(s[i] - '0');
                if (whole > ulong.MaxValue)
                {
                    error = $"'{s}' is too large";
                    return false;
                }
                i++;
            }
            if (i == start)
            {
                error = $"'{s}' is not a size: it must start with a number (for example 512M, 2G, 1.5G)";
                return false;
            }
            if (i < s.Length && s[i] == '.')
            {
                int f = i;
                i++;
                while (i < s.Length && char.IsAsciiDigit(s[i]))
                {
                    i++;
                }
                fraction = double.Parse("0" + s[f..i], CultureInfo.InvariantCulture);
            }
        }
        ulong unit = 1UL << 20;
        if (i == s.Length && fraction != 0)
        {
            // QEMU checks the text as bytes before it appends the MiB suffix: 1.0 passes, 1.5 does not.
            error = $"'{s}': a fraction needs a unit suffix (for example {s}M or {s}G)";
            return false;
        }
        if (i < s.Length)
        {
            int shift = char.ToUpperInvariant(s[i]) switch
            {
                'B' => 0,
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                'P' => 50,
                'E' => 60,
                _ => -1,
            };
            if (shift < 0 || i != s.Length - 1)
            {
                error = $"'{s}' has an unknown suffix '{s[i..]}' (use B, K, M, G, T, P or E; a plain number is MiB)";
                return false;
            }
            unit = 1UL << shift;
        }
        if (unit == 1 && fraction != 0)
        {
            error = $"'{s}': a fraction needs a unit larger than bytes";
            return false;
        }
        UInt128 bytes = (whole * unit) + (UInt128)(fraction * unit);
        UInt128 aligned = (bytes + 8191) & ~(UInt128)8191;
        if (aligned > ulong.MaxValue)
        {
            error = $"'{s}' is too large";
            return false;
        }
        size = (ulong)aligned;
        return true;
    }

    /// <summary>Formats a size the short way QEMU users write it (512M, 8G, 1536M, 100K).</summary>
    /// <param name="bytes">The size.</param>
    public static string Format(ulong bytes)
    {
        foreach ((int shift, string suffix) in new[] { (40, "T"), (30, "G"), (20, "M"), (10, "K") })
        {
            if (bytes != 0 && bytes % (1UL << shift) == 0)
            {
                return $"{bytes >> shift}{suffix}";
            }
        }
        return $"{bytes}B";
    }
}
