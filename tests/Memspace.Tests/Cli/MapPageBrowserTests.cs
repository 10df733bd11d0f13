using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Memspace.Machines;
using Memspace.Tests.Support;

namespace Memspace.Tests.Cli;

/// <summary>The q35 map page written by `memspace map`, opened in one headless chromium for the class.</summary>
public sealed class MapPageFixture : ChromiumFixture
{
    public string Page { get; } = Path.Combine(AppContext.BaseDirectory, "map-q35.html");

    public override async ValueTask InitializeAsync()
    {
        var (code, _, stderr) = CliProcess.Run("map", "--machine", "q35", "-o", Page);
        Assert.True(code == 0, stderr);
        await base.InitializeAsync();
    }
}

/// <summary>`memspace map` in a real browser: lanes and ranges in the DOM, widths, real clicks and typing, explanations as the CLI gives them.</summary>
public partial class MapPageBrowserTests(MapPageFixture fixture) : IClassFixture<MapPageFixture>
{
    private const string Ready = "document.body && document.body.dataset.ready === 'true'";

    [GeneratedRegex("(host|userspace_addr) 0x[0-9a-f]+")]
    private static partial Regex HostAddress();

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LanesShowEveryAddressSpacesFlatRangesByKind()
    {
        fixture.Require();
        ChromiumPage page = await Open();
        JsonElement lanes = await page.EvaluateAsync(
            "[...document.querySelectorAll('.lane')].map(l => ({ space: l.dataset.space, ranges: [...l.querySelectorAll('.range')].map(e => [e.dataset.start, e.dataset.end, e.dataset.region, e.dataset.kind]) }))",
            Cancel);

        using Machine q35 = Machine.Create("q35");
        Assert.Equal(q35.System.AddressSpaces.Select(s => s.Name), lanes.EnumerateArray().Select(l => l.GetProperty("space").GetString()));
        foreach (JsonElement lane in lanes.EnumerateArray())
        {
            AddressSpace space = q35.System.AddressSpaces.Single(s => s.Name == lane.GetProperty("space").GetString());
            var expected = space.CurrentMap.Ranges.Select(r => $"0x{r.Start:x} 0x{r.End:x} {r.Region.Name} {(r.Region.IsRomd ? "romd" : r.Region.IsRam ? (r.ReadOnly || r.Region.ReadOnly ? "rom" : "ram") : "i/o")}");
            var shown = lane.GetProperty("ranges").EnumerateArray().Select(r => string.Join(' ', r.EnumerateArray().Select(v => v.GetString())));
            Assert.Equal(expected, shown);
        }
        // pc.bios below 1 MiB is reached through the isa-bios alias; the top copy is not.
        Assert.Equal("true", (await page.EvaluateAsync("document.querySelector(\".lane[data-space='memory'] .range[data-start='0xe0000']\").dataset.alias", Cancel)).GetString());
        Assert.Equal("false", (await page.EvaluateAsync("document.querySelector(\".lane[data-space='memory'] .range[data-start='0xfffc0000']\").dataset.alias", Cancel)).GetString());
        // The region tree is beside the lanes, with every region of the memory address space.
        Assert.True((await page.EvaluateAsync("document.querySelectorAll('#tree .node[data-region=\"pam-pci\"]').length", Cancel)).GetInt32() >= 13);
        // Self-contained: nothing was fetched, nothing refers outside the page.
        Assert.Equal(0, (await page.EvaluateAsync("performance.getEntriesByType('resource').length", Cancel)).GetInt32());
        Assert.Equal(0, (await page.EvaluateAsync("document.querySelectorAll('[src],[href],link,iframe,img').length", Cancel)).GetInt32());
    }

    [Fact]
    public async Task AFourKibDeviceIsVisibleNextToTwoToThe64ByteRanges()
    {
        fixture.Require();
        ChromiumPage page = await Open();
        double device = (await page.EvaluateAsync("document.querySelector(\".lane[data-space='memory'] .range[data-region='memspace-demo']\").getBoundingClientRect().width", Cancel)).GetDouble();
        double widest = (await page.EvaluateAsync("Math.max(...[...document.querySelectorAll(\".lane[data-space='memory'] .seg\")].map(e => e.getBoundingClientRect().width))", Cancel)).GetDouble();
        double lane = (await page.EvaluateAsync("document.querySelector(\".lane[data-space='memory']\").scrollWidth", Cancel)).GetDouble();
        Assert.True(device >= 20, $"the 4 KiB device is {device} px wide");
        Assert.True(widest > device, $"widest {widest} px, device {device} px");
        Assert.True(lane < 20_000, $"the memory lane is {lane} px long");
    }

    [Fact]
    public async Task ClickingPcBiosExplainsTheAddressAsTheCliDoes()
    {
        fixture.Require();
        ChromiumPage page = await Open();
        JsonElement box = await page.EvaluateAsync(
            "(() => { const e = document.querySelector(\".lane[data-space='memory'] .range[data-region='pc.bios']\"); e.scrollIntoView({ block: 'center', inline: 'center' }); const r = e.getBoundingClientRect(); return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()",
            Cancel);
        await page.ClickAsync(box.GetProperty("x").GetDouble(), box.GetProperty("y").GetDouble(), Cancel);
        string text = (await page.EvaluateAsync("document.getElementById('explanation').textContent", Cancel)).GetString()!;
        string address = (await page.EvaluateAsync("document.getElementById('explanation').dataset.address", Cancel)).GetString()!;
        Assert.Equal("true", (await page.EvaluateAsync("String(document.querySelector(\".range[data-region='pc.bios']\").classList.contains('selected'))", Cancel)).GetString());

        ulong a = ulong.Parse(address.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        Assert.InRange(a, 0xe0000UL, 0xfffffUL);
        Assert.Contains("FlatRange            [0xe0000, 0x100000) rom 'pc.bios' @0x20000", text, StringComparison.Ordinal);
        AssertSameAsCli(text, address);
        await Screenshot(page, "map-q35-click-pc-bios.png");
    }

    [Fact]
    public async Task HoveringExplainsUntilAClickKeepsAnAddress()
    {
        fixture.Require();
        ChromiumPage page = await Open();
        JsonElement device = await Center(page, ".lane[data-space='memory'] .range[data-region='memspace-demo']");
        await page.SendAsync("Input.dispatchMouseEvent", new() { ["type"] = "mouseMoved", ["x"] = device.GetProperty("x").GetDouble(), ["y"] = device.GetProperty("y").GetDouble() }, Cancel);
        string hovered = (await page.EvaluateAsync("document.getElementById('explanation').textContent", Cancel)).GetString()!;
        string address = (await page.EvaluateAsync("document.getElementById('explanation').dataset.address", Cancel)).GetString()!;
        Assert.Contains("FlatRange            [0xfe000000, 0xfe001000) i/o 'memspace-demo' @0x0", hovered, StringComparison.Ordinal);
        AssertSameAsCli(hovered, address);

        // A click keeps its address: moving on to another range no longer changes the text.
        await page.ClickAsync(device.GetProperty("x").GetDouble(), device.GetProperty("y").GetDouble(), Cancel);
        string kept = (await page.EvaluateAsync("document.getElementById('explanation').textContent", Cancel)).GetString()!;
        JsonElement ram = await Center(page, ".lane[data-space='memory'] .range[data-start='0x100000']");
        await page.SendAsync("Input.dispatchMouseEvent", new() { ["type"] = "mouseMoved", ["x"] = ram.GetProperty("x").GetDouble(), ["y"] = ram.GetProperty("y").GetDouble() }, Cancel);
        Assert.Equal(kept, (await page.EvaluateAsync("document.getElementById('explanation').textContent", Cancel)).GetString());
    }

    [Fact]
    public async Task TypingAnAddressExplainsItAsTheCliDoes()
    {
        fixture.Require();
        ChromiumPage page = await Open();
        await page.EvaluateAsync("document.getElementById('address').focus()", Cancel);
        await page.TypeAsync("0xf0010", enter: true, Cancel);
        string text = (await page.EvaluateAsync("document.getElementById('explanation').textContent", Cancel)).GetString()!;
        Assert.StartsWith("0x00000000000f0010 in address space \"memory\"\n", text, StringComparison.Ordinal);
        AssertSameAsCli(text, "0xf0010");
        await Screenshot(page, "map-q35-typed-0xf0010.png");

        // Bad input gets the CLI's message and leaves the explanation alone.
        await page.EvaluateAsync("document.getElementById('address').value = ''; document.getElementById('address').focus()", Cancel);
        await page.TypeAsync("0xzz", enter: true, Cancel);
        Assert.Equal("bad address '0xzz': give 0x-prefixed hex or a decimal number below 2^64", (await page.EvaluateAsync("document.getElementById('status').textContent", Cancel)).GetString());
        Assert.Equal(text, (await page.EvaluateAsync("document.getElementById('explanation').textContent", Cancel)).GetString());
    }

    [Fact]
    public async Task ThePagesArithmeticMatchesTheCliAcrossTheAddressSpace()
    {
        fixture.Require();
        ChromiumPage page = await Open();
        // Addresses around every flat range edge and far out, in the I/O space too.
        string[] addresses = ["0x0", "0x9ffff", "0xa0000", "0xbffff", "0xc3fff", "0xfffff", "0x100000", "0x1fffffff", "0x20000000", "0xfe000fff", "0xfffc0000", "0xffffffff", "0x100000000", "0xffffffffffffffff"];
        foreach (string a in addresses)
        {
            string text = (await page.EvaluateAsync($"window.memspaceMap.explain('memory', '{a}')", Cancel)).GetString()!;
            AssertSameAsCli(text, a);
        }
        string io = (await page.EvaluateAsync("window.memspaceMap.explain('I/O', '0x3fa')", Cancel)).GetString()!;
        AssertSameAsCli(io, "0x3fa", "I/O");
    }

    private static Task<JsonElement> Center(ChromiumPage page, string selector)
        => page.EvaluateAsync(
            $"(() => {{ const e = document.querySelector(\"{selector}\"); e.scrollIntoView({{ block: 'center', inline: 'center' }}); const r = e.getBoundingClientRect(); return {{ x: r.left + r.width / 2, y: r.top + r.height / 2 }}; }})()",
            Cancel);

    private async Task<ChromiumPage> Open()
    {
        ChromiumPage page = await fixture.Browser.NewPageAsync(Cancel);
        await page.NavigateAsync(new Uri(fixture.Page).AbsoluteUri, Ready, Cancel);
        return page;
    }

    /// <summary>
    /// The page's text equals `memspace explain` for the same machine and address. Host addresses are
    /// those of the process that built the map, so they are compared as present, not by value.
    /// </summary>
    private static void AssertSameAsCli(string pageText, string address, string space = "memory")
    {
        var (code, stdout, stderr) = CliProcess.Run("explain", address, "--as", space, "--machine", "q35");
        Assert.True(code == 0, stderr);
        Assert.Equal(HostAddress().Replace(stdout, "$1 0x…"), HostAddress().Replace(pageText, "$1 0x…"));
    }

    private static async Task Screenshot(ChromiumPage page, string name)
    {
        byte[] png = await page.ScreenshotAsync(Cancel);
        Assert.True(png.Length > 1000 && png[1] == (byte)'P' && png[2] == (byte)'N' && png[3] == (byte)'G');
        await File.WriteAllBytesAsync(Path.Combine(AppContext.BaseDirectory, name), png, Cancel);
        TestContext.Current.AddAttachment(name, png, "image/png");
    }
}
