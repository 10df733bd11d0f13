using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Memspace.Tests.Support;

/// <summary>
/// Debian's chromium, headless, driven over the DevTools protocol through its WebSocket (no driver
/// library): launch, open a page, evaluate script, dispatch real mouse and keyboard input, take
/// screenshots. One instance per test class (<see cref="ChromiumFixture"/>).
/// </summary>
internal sealed partial class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ClientWebSocket _socket;
    private readonly string _profile;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiver;
    private int _nextId;

    private HeadlessChromium(Process process, ClientWebSocket socket, string profile)
    {
        _process = process;
        _socket = socket;
        _profile = profile;
        _receiver = Task.Run(ReceiveLoop);
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex Listening();

    /// <summary>The browser's executable, or null with why not.</summary>
    public static string? Find(out string reason)
    {
        foreach (string name in new[] { "chromium", "chromium-browser" })
        {
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                string path = Path.Combine(dir, name);
                if (File.Exists(path))
                {
                    reason = "";
                    return path;
                }
            }
        }
        reason = "chromium is not installed (Debian: apt-get install chromium)";
        return null;
    }

    public static async Task<HeadlessChromium> LaunchAsync(string executable, CancellationToken cancel)
    {
        string profile = Path.Combine(Path.GetTempPath(), $"memspace-chromium-{Guid.NewGuid():n}");
        Directory.CreateDirectory(profile);
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                     "--remote-debugging-port=0", $"--user-data-dir={profile}", "--window-size=1400,900", "about:blank",
                 })
        {
            psi.ArgumentList.Add(arg);
        }
        Process process = Process.Start(psi)!;
        _ = process.StandardOutput.ReadToEndAsync(cancel);
        var endpoint = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new StringBuilder();
        _ = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync(cancel) is { } line)
            {
                lock (log)
                {
                    log.AppendLine(line);
                }
                if (Listening().Match(line) is { Success: true } m)
                {
                    endpoint.TrySetResult(m.Groups[1].Value);
                }
            }
            endpoint.TrySetException(new InvalidOperationException("chromium exited without a DevTools endpoint: " + log));
        }, cancel);
        string url;
        try
        {
            url = await endpoint.Task.WaitAsync(TimeSpan.FromSeconds(60), cancel);
        }
        catch
        {
            Kill(process, profile);
            throw;
        }
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await socket.ConnectAsync(new Uri(url), cancel);
        return new HeadlessChromium(process, socket, profile);
    }

    /// <summary>Opens a new tab and attaches to it.</summary>
    public async Task<ChromiumPage> NewPageAsync(CancellationToken cancel)
    {
        JsonElement target = await SendAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, null, cancel);
        JsonElement attached = await SendAsync("Target.attachToTarget",
            new JsonObject { ["targetId"] = target.GetProperty("targetId").GetString(), ["flatten"] = true }, null, cancel);
        var page = new ChromiumPage(this, attached.GetProperty("sessionId").GetString()!);
        await page.SendAsync("Page.enable", null, cancel);
        await page.SendAsync("Runtime.enable", null, cancel);
        await page.SendAsync("Emulation.setDeviceMetricsOverride",
            new JsonObject { ["width"] = 1400, ["height"] = 900, ["deviceScaleFactor"] = 1, ["mobile"] = false }, cancel);
        return page;
    }

    /// <summary>Sends one DevTools command and returns its result; a protocol error throws.</summary>
    public async Task<JsonElement> SendAsync(string method, JsonObject? parameters, string? session, CancellationToken cancel)
    {
        int id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        if (session is not null)
        {
            message["sessionId"] = session;
        }
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        byte[] bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        await _sendLock.WaitAsync(cancel);
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, cancel);
        }
        finally
        {
            _sendLock.Release();
        }
        return await reply.Task.WaitAsync(TimeSpan.FromSeconds(60), cancel);
    }

    private async Task ReceiveLoop()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open && !_stop.IsCancellationRequested)
            {
                WebSocketReceiveResult r = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage)
                {
                    continue;
                }
                using (JsonDocument doc = JsonDocument.Parse(message.ToArray()))
                {
                    if (doc.RootElement.TryGetProperty("id", out JsonElement idElement) && _pending.TryRemove(idElement.GetInt32(), out var reply))
                    {
                        if (doc.RootElement.TryGetProperty("error", out JsonElement error))
                        {
                            reply.TrySetException(new InvalidOperationException("DevTools error: " + error));
                        }
                        else
                        {
                            reply.TrySetResult(doc.RootElement.GetProperty("result").Clone());
                        }
                    }
                }
                message.SetLength(0);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        foreach (var pending in _pending.Values)
        {
            pending.TrySetException(new InvalidOperationException("the browser connection closed"));
        }
    }

    private static void Kill(Process process, string profile)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        process.Dispose();
        try
        {
            Directory.Delete(profile, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await SendAsync("Browser.close", null, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or WebSocketException)
        {
        }
        _stop.Cancel();
        try
        {
            await _receiver.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }
        _socket.Dispose();
        Kill(_process, _profile);
        _stop.Dispose();
        _sendLock.Dispose();
    }
}

/// <summary>One tab of <see cref="HeadlessChromium"/>.</summary>
internal sealed class ChromiumPage(HeadlessChromium browser, string session)
{
    public Task<JsonElement> SendAsync(string method, JsonObject? parameters, CancellationToken cancel)
        => browser.SendAsync(method, parameters, session, cancel);

    /// <summary>Loads <paramref name="url"/> and waits until <paramref name="readyExpression"/> is true.</summary>
    public async Task NavigateAsync(string url, string readyExpression, CancellationToken cancel)
    {
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url }, cancel);
        DateTime end = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < end)
        {
            if (await EvaluateAsync(readyExpression, cancel) is { ValueKind: JsonValueKind.True })
            {
                return;
            }
            await Task.Delay(50, cancel);
        }
        throw new TimeoutException($"{url} did not become ready ({readyExpression})");
    }

    /// <summary>Evaluates script in the page and returns its value (by value); a script exception throws.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression, CancellationToken cancel)
    {
        JsonElement r = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true }, cancel);
        if (r.TryGetProperty("exceptionDetails", out JsonElement ex))
        {
            throw new InvalidOperationException($"script failed: {ex}");
        }
        return r.GetProperty("result").TryGetProperty("value", out JsonElement v) ? v.Clone() : default;
    }

    /// <summary>A real left click at a point of the viewport: move, press, release.</summary>
    public async Task ClickAsync(double x, double y, CancellationToken cancel)
    {
        foreach ((string type, int buttons) in new[] { ("mouseMoved", 0), ("mousePressed", 1), ("mouseReleased", 0) })
        {
            var p = new JsonObject { ["type"] = type, ["x"] = x, ["y"] = y, ["buttons"] = buttons };
            if (type != "mouseMoved")
            {
                p["button"] = "left";
                p["clickCount"] = 1;
            }
            await SendAsync("Input.dispatchMouseEvent", p, cancel);
        }
    }

    /// <summary>Types text into the focused element as keyboard input would, then presses Enter if asked.</summary>
    public async Task TypeAsync(string text, bool enter, CancellationToken cancel)
    {
        foreach (char c in text)
        {
            await SendAsync("Input.dispatchKeyEvent", new JsonObject { ["type"] = "keyDown", ["text"] = c.ToString(), ["key"] = c.ToString() }, cancel);
            await SendAsync("Input.dispatchKeyEvent", new JsonObject { ["type"] = "keyUp", ["key"] = c.ToString() }, cancel);
        }
        if (enter)
        {
            await SendAsync("Input.dispatchKeyEvent", new JsonObject
            {
                ["type"] = "keyDown", ["key"] = "Enter", ["code"] = "Enter", ["windowsVirtualKeyCode"] = 13, ["nativeVirtualKeyCode"] = 13, ["text"] = "\r",
            }, cancel);
            await SendAsync("Input.dispatchKeyEvent", new JsonObject
            {
                ["type"] = "keyUp", ["key"] = "Enter", ["code"] = "Enter", ["windowsVirtualKeyCode"] = 13, ["nativeVirtualKeyCode"] = 13,
            }, cancel);
        }
    }

    /// <summary>A PNG of the whole page.</summary>
    public async Task<byte[]> ScreenshotAsync(CancellationToken cancel)
    {
        JsonElement r = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true }, cancel);
        return Convert.FromBase64String(r.GetProperty("data").GetString()!);
    }
}

/// <summary>One headless chromium for a test class; tests call <see cref="Require"/>, which skips them with the reason when it cannot run.</summary>
public class ChromiumFixture : IAsyncLifetime
{
    private HeadlessChromium? _browser;

    internal HeadlessChromium Browser => _browser ?? throw new InvalidOperationException(Unavailable);

    /// <summary>Why the browser is not there, or null.</summary>
    public string? Unavailable { get; private set; }

    public void Require()
    {
        if (Unavailable is not null)
        {
            Assert.Skip("needs chromium: " + Unavailable);
        }
    }

    public virtual async ValueTask InitializeAsync()
    {
        if (HeadlessChromium.Find(out string reason) is not { } exe)
        {
            Unavailable = reason;
            return;
        }
        _browser = await HeadlessChromium.LaunchAsync(exe, CancellationToken.None);
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
        GC.SuppressFinalize(this);
    }
}
