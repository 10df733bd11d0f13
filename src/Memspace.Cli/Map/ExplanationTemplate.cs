using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Memspace.Cli.Map;

/// <summary>
/// The explanation of every address of [<see cref="Start"/>, next template's start), as text pieces
/// between numbers: inside such an interval nothing but the address's own offsets changes, so each hex
/// number either stays (it is part of a piece) or moves with the address. The map page fills the
/// numbers in JavaScript with the same arithmetic as <see cref="Render"/>.
/// </summary>
/// <param name="Start">First address the template explains.</param>
/// <param name="Parts">The text around the moving numbers: one more piece than <paramref name="Values"/>.</param>
/// <param name="Values">Each moving number: its value at <see cref="Start"/> and the digits it is padded to (0: none).</param>
internal sealed partial record ExplanationTemplate(ulong Start, IReadOnlyList<string> Parts, IReadOnlyList<(ulong Base, int Width)> Values)
{
    [GeneratedRegex("0x[0-9a-f]+")]
    private static partial Regex HexNumber();

    /// <summary>The explanation of <paramref name="address"/>: each number is its base plus the distance from <see cref="Start"/>, modulo 2^64.</summary>
    /// <param name="address">An address at or after <see cref="Start"/>.</param>
    public string Render(ulong address)
    {
        var sb = new StringBuilder(Parts[0]);
        for (int k = 0; k < Values.Count; k++)
        {
            (ulong b, int width) = Values[k];
            ulong value = unchecked(b + (address - Start));
            sb.Append("0x").Append(value.ToString(width == 0 ? "x" : "x" + width.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
            sb.Append(Parts[k + 1]);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The template that turns <paramref name="atStart"/> (the explanation of <paramref name="start"/>) into
    /// <paramref name="atNext"/> (that of start + 1), or null when the two differ by more than numbers
    /// moving with the address.
    /// </summary>
    public static ExplanationTemplate? Infer(ulong start, string atStart, string atNext)
    {
        MatchCollection a = HexNumber().Matches(atStart), b = HexNumber().Matches(atNext);
        if (a.Count != b.Count)
        {
            return null;
        }
        var parts = new List<string>();
        var piece = new StringBuilder();
        var values = new List<(ulong, int)>();
        int pa = 0, pb = 0;
        for (int k = 0; k < a.Count; k++)
        {
            if (!atStart.AsSpan(pa, a[k].Index - pa).SequenceEqual(atNext.AsSpan(pb, b[k].Index - pb)))
            {
                return null;
            }
            piece.Append(atStart, pa, a[k].Index - pa);
            pa = a[k].Index + a[k].Length;
            pb = b[k].Index + b[k].Length;
            if (a[k].Value == b[k].Value)
            {
                piece.Append(a[k].Value);
                continue;
            }
            if (!ulong.TryParse(a[k].ValueSpan[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong va)
                || !ulong.TryParse(b[k].ValueSpan[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong vb)
                || unchecked(vb - va) != 1)
            {
                return null;
            }
            // The only padded numbers are 16-digit addresses; an unpadded number of 16 digits prints the same padded.
            int digits = a[k].Length - 2;
            parts.Add(piece.ToString());
            piece.Clear();
            values.Add((va, digits == 16 ? 16 : 0));
        }
        if (!atStart.AsSpan(pa).SequenceEqual(atNext.AsSpan(pb)))
        {
            return null;
        }
        piece.Append(atStart, pa, atStart.Length - pa);
        parts.Add(piece.ToString());
        return new ExplanationTemplate(start, parts, values);
    }

    /// <summary>A template with no moving number: exactly <paramref name="text"/>.</summary>
    public static ExplanationTemplate Literal(ulong start, string text) => new(start, [text], []);
}
