using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Memspace.Import;

/// <summary>
/// A connection to a running QEMU's QMP socket (<c>-qmp unix:PATH,server=on,wait=off</c>) that runs
/// human-monitor commands through <c>human-monitor-command</c>, so <c>info mtree -D</c> and
/// <c>info mtree -f</c> can be read from a live machine.
/// </summary>
public sealed class QmpMonitor : IDisposable
{
    private const int MaxMessageBytes = 64 << 20;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly MemoryStream _pending = new();

    private QmpMonitor(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>Connects, reads QEMU's greeting and leaves capabilities negotiation mode.</summary>
    /// <param name="socketPath">Path of QEMU's QMP unix socket.</param>
    /// <param name="timeout">How long each step may take.</param>
    /// <exception cref="QmpException">No QEMU answers there, or it does not speak QMP.</exception>
    public static QmpMonitor Connect(string socketPath, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(socketPath);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            ReceiveTimeout = (int)timeout.TotalMilliseconds,
            SendTimeout = (int)timeout.TotalMilliseconds,
        };
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            socket.Dispose();
            throw new QmpException($"cannot connect to QMP socket '{socketPath}': {e.Message}", e);
        }
        var monitor = new QmpMonitor(socket);
        try
        {
            using (JsonDocument greeting = monitor.ReadMessage())
            {
                if (!greeting.RootElement.TryGetProperty("QMP", out _))
                {
                    throw new QmpException($"'{socketPath}' did not greet with a QMP banner");
                }
            }
            monitor.Execute("qmp_capabilities", null).Dispose();
            return monitor;
        }
        catch
        {
            monitor.Dispose();
            throw;
        }
    }

    /// <summary>Runs a human-monitor command and returns what it printed, with line feeds as line ends (the monitor sends CR LF).</summary>
    /// <param name="commandLine">For example <c>info mtree -D</c>.</param>
    /// <exception cref="QmpException">QEMU answered with an error or not at all.</exception>
    public string HumanMonitorCommand(string commandLine)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        using JsonDocument reply = Execute("human-monitor-command", commandLine);
        return (reply.RootElement.GetProperty("return").GetString() ?? "").Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    private JsonDocument Execute(string command, string? commandLine)
    {
        var request = new MemoryStream();
        using (var writer = new Utf8JsonWriter(request))
        {
            writer.WriteStartObject();
            writer.WriteString("execute", command);
            if (commandLine is not null)
            {
                writer.WriteStartObject("arguments");
                writer.WriteString("command-line", commandLine);
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        request.WriteByte((byte)'\n');
        try
        {
            _stream.Write(request.GetBuffer(), 0, (int)request.Length);
        }
        catch (IOException e)
        {
            throw new QmpException($"QMP: sending '{command}' failed: {e.Message}", e);
        }
        while (true)
        {
            JsonDocument reply = ReadMessage();
            if (reply.RootElement.TryGetProperty("return", out _))
            {
                return reply;
            }
            if (reply.RootElement.TryGetProperty("error", out JsonElement error))
            {
                string desc = error.TryGetProperty("desc", out JsonElement d) ? d.GetString() ?? "" : error.ToString();
                reply.Dispose();
                throw new QmpException($"QMP: '{commandLine ?? command}' failed: {desc}");
            }
            reply.Dispose();   // an asynchronous event
        }
    }

    /// <summary>Reads one message (QMP ends each with a line break).</summary>
    private JsonDocument ReadMessage()
    {
        while (true)
        {
            byte[] data = _pending.GetBuffer();
            int length = (int)_pending.Length;
            int newline = Array.IndexOf(data, (byte)'\n', 0, length);
            if (newline >= 0)
            {
                byte[] line = data.AsSpan(0, newline).ToArray();
                byte[] rest = data.AsSpan(newline + 1, length - newline - 1).ToArray();
                _pending.SetLength(0);
                _pending.Write(rest);
                if (line.AsSpan().Trim("\r "u8).Length == 0)
                {
                    continue;
                }
                try
                {
                    return JsonDocument.Parse(line);
                }
                catch (JsonException e)
                {
                    throw new QmpException($"QMP: not a JSON message: {Encoding.UTF8.GetString(line.AsSpan(0, Math.Min(line.Length, 80)))}", e);
                }
            }
            if (length > MaxMessageBytes)
            {
                throw new QmpException($"QMP: a message longer than {MaxMessageBytes >> 20} MiB");
            }
            int n;
            try
            {
                n = _stream.Read(_buffer, 0, _buffer.Length);
            }
            catch (IOException e)
            {
                throw new QmpException($"QMP: no answer: {e.InnerException?.Message ?? e.Message}", e);
            }
            if (n == 0)
            {
                throw new QmpException("QMP: QEMU closed the connection");
            }
            _pending.Write(_buffer, 0, n);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
        _pending.Dispose();
    }
}
