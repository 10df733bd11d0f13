using System.Text;

namespace Memspace.Import;

/// <summary>
/// A QEMU human-monitor session as it was captured or pasted (<c>-monitor stdio</c>, a terminal's
/// scrollback): each line is redrawn as the screen showed it, so readline's echo (erase-to-end-of-line
/// and cursor moves), the banner and the <c>(qemu)</c> prompts drop out, and the output of each command
/// can be taken by the command that produced it.
/// </summary>
public sealed class MonitorTranscript
{
    private const string Prompt = "(qemu) ";

    private readonly List<(string Command, string Output)> _commands;

    private MonitorTranscript(List<(string Command, string Output)> commands, bool hadPrompt)
    {
        _commands = commands;
        HadPrompt = hadPrompt;
    }

    /// <summary>Whether the text held a monitor prompt at all (otherwise it is plain command output).</summary>
    public bool HadPrompt { get; }

    /// <summary>Each command typed at a prompt and the lines it printed, in order.</summary>
    public IReadOnlyList<(string Command, string Output)> Commands => _commands;

    /// <summary>Reads a transcript.</summary>
    /// <param name="text">The captured session.</param>
    public static MonitorTranscript Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var commands = new List<(string Command, string Output)>();
        string? command = null;
        var output = new StringBuilder();
        bool hadPrompt = false;
        foreach (string raw in text.Split('\n'))
        {
            string line = Redraw(raw);
            int prompt = line.IndexOf(Prompt, StringComparison.Ordinal);
            if (prompt >= 0 && line[..prompt].Trim().Length == 0)
            {
                if (command is not null)
                {
                    commands.Add((command, output.ToString()));
                }
                hadPrompt = true;
                command = line[(prompt + Prompt.Length)..].Trim();
                output.Clear();
                continue;
            }
            if (command is not null)
            {
                output.Append(line).Append('\n');
            }
        }
        if (command is not null && command.Length > 0)
        {
            commands.Add((command, output.ToString()));
        }
        return new MonitorTranscript(commands, hadPrompt);
    }

    /// <summary>
    /// The output of the last command whose words are <paramref name="flags"/> in any order after
    /// <c>info mtree</c> (for example <c>-D</c>, or <c>-f</c>), or null.
    /// </summary>
    /// <param name="flags">The flags the command must have, exactly (order does not matter).</param>
    public string? MtreeOutput(params string[] flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        for (int i = _commands.Count - 1; i >= 0; i--)
        {
            string[] words = _commands[i].Command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length >= 2 && words[0] == "info" && words[1] == "mtree"
                && words.Skip(2).Order(StringComparer.Ordinal).SequenceEqual(flags.Order(StringComparer.Ordinal)))
            {
                return _commands[i].Output;
            }
        }
        return null;
    }

    /// <summary>
    /// One line as a terminal shows it: printable characters overwrite at the cursor, carriage return,
    /// backspace and the CSI cursor moves (<c>ESC[nD</c>, <c>ESC[nC</c>) move it, <c>ESC[K</c> erases
    /// to the end of the line; other escape sequences and control characters are dropped.
    /// </summary>
    /// <param name="raw">The line's bytes as text, without its line feed.</param>
    public static string Redraw(string raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        if (raw.IndexOfAny(['\r', '\b', '\x1b']) < 0)
        {
            return raw;
        }
        var screen = new StringBuilder();
        int cursor = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            char c = raw[i];
            switch (c)
            {
                case '\r':
                    cursor = 0;
                    break;
                case '\b':
                    cursor = Math.Max(0, cursor - 1);
                    break;
                case '\x1b':
                    i = Escape(raw, i, screen, ref cursor);
                    break;
                default:
                    if (char.IsControl(c))
                    {
                        break;
                    }
                    while (screen.Length < cursor)
                    {
                        screen.Append(' ');
                    }
                    if (cursor < screen.Length)
                    {
                        screen[cursor] = c;
                    }
                    else
                    {
                        screen.Append(c);
                    }
                    cursor++;
                    break;
            }
        }
        return screen.ToString().TrimEnd();
    }

    /// <summary>Applies the escape sequence starting at <paramref name="start"/>; returns the index of its last character.</summary>
    private static int Escape(string raw, int start, StringBuilder screen, ref int cursor)
    {
        if (start + 1 >= raw.Length || raw[start + 1] != '[')
        {
            // A two-character escape (ESC 7, ESC 8, ...): nothing a line shows.
            return Math.Min(start + 1, raw.Length - 1);
        }
        int i = start + 2;
        int n = 0;
        bool hasNumber = false;
        while (i < raw.Length && (char.IsAsciiDigit(raw[i]) || raw[i] == ';' || raw[i] == '?'))
        {
            if (char.IsAsciiDigit(raw[i]) && n < 100_000)
            {
                n = n * 10 + (raw[i] - '0');
                hasNumber = true;
            }
            i++;
        }
        if (i >= raw.Length)
        {
            return raw.Length - 1;
        }
        int count = hasNumber ? Math.Max(n, 1) : 1;
        switch (raw[i])
        {
            case 'D':
                cursor = Math.Max(0, cursor - count);
                break;
            case 'C':
                cursor += count;
                break;
            case 'K':
                if (n == 0 && cursor < screen.Length)
                {
                    screen.Length = cursor;
                }
                else if (n == 2)
                {
                    screen.Clear();
                }
                break;
            case 'G':
                cursor = count - 1;
                break;
        }
        return i;
    }
}
