using System.Net;
using System.Net.Sockets;
using Memspace.Machines;
using Memspace.Machines.State;
using Memspace.Migration;
using Memspace.Regions;

namespace Memspace.Tests.Migration;

/// <summary>vCPUs for tests without KVM: opaque states and a clock that move with the machine, and whether the guest is paused.</summary>
internal sealed class FakeVcpus : IVcpuTransfer
{
    public FakeVcpus(int count, string seed = "")
    {
        States = Enumerable.Range(0, count).Select(i => System.Text.Encoding.ASCII.GetBytes($"vcpu{i}:{seed}")).ToArray();
        Clock = System.Text.Encoding.ASCII.GetBytes("clock:" + seed);
    }

    public byte[][] States { get; }

    public byte[] Clock { get; set; }

    public bool Paused { get; private set; }

    public int Resumes { get; private set; }

    public int Count => States.Length;

    public string Kind => "fake";

    public void Pause() => Paused = true;

    public void Resume()
    {
        Paused = false;
        Resumes++;
    }

    public byte[] Save(int index) => States[index];

    public void Load(int index, byte[] state) => States[index] = state;

    public byte[]? SaveClock() => Clock;

    public void LoadClock(byte[] clock) => Clock = clock;
}

/// <summary>A device with state whose one register enables a RAM window, so loading it changes the memory map.</summary>
internal sealed class WindowDevice : IDeviceState
{
    private readonly MemoryRegion _window;

    public WindowDevice(Machine machine, string name = "test-window@0xfd000000")
    {
        StateName = name;
        _window = MemoryRegion.CreateRam(machine.System, name, 0x10000, ram: new Memspace.Ram.RamBlockOptions { Migratable = false });
        _window.SetEnabled(false);
        machine.SystemMemory.AddSubregion(0xfd00_0000, _window);
    }

    public string StateName { get; }

    public int StateVersion => 1;

    public uint Counter { get; set; }

    public bool Enabled => _window.Enabled;

    public void Enable(bool on) => _window.SetEnabled(on);

    public void SaveState(DeviceStateWriter writer)
    {
        writer.WriteU32("counter", Counter);
        writer.WriteBool("enabled", _window.Enabled);
    }

    public void LoadState(DeviceStateReader reader)
    {
        Counter = reader.ReadU32("counter");
        _window.SetEnabled(reader.ReadBool("enabled"));
    }
}

internal static class MigrationFixtures
{
    public const ulong Ram = 32UL << 20;

    /// <summary>A machine on a simulated KVM VM with a <see cref="WindowDevice"/> registered.</summary>
    public static (Machine Machine, WindowDevice Device) Build(string name = "q35", ulong ram = Ram, bool device = true)
    {
        Machine m = Machine.Create(name, new MachineOptions { RamSize = ram });
        WindowDevice? d = null;
        if (device)
        {
            d = new WindowDevice(m);
            m.RegisterDeviceState(d);
        }
        return (m, d!);
    }

    /// <summary>Writes a recognisable pattern into some pages of guest RAM through the address space (so dirty logging sees it).</summary>
    public static void Scribble(Machine m, int seed, int pages = 40)
    {
        var page = new byte[4096];
        var rng = new Random(seed);
        for (int i = 0; i < pages; i++)
        {
            rng.NextBytes(page);
            ulong addr = (ulong)rng.Next(0, (int)(m.Options.RamSize / 4096) - 1) * 4096;
            if (addr is >= 0xa0000 and < 0x100000)
            {
                continue;
            }
            m.Memory.Write(addr, page);
        }
    }

    /// <summary>Every migratable block's contents.</summary>
    public static Dictionary<string, byte[]> Contents(Machine m)
        => MigrationHeader.MigratableBlocks(m).ToDictionary(b => b.IdStr, b =>
        {
            var bytes = new byte[b.UsedLength];
            b.Read(0, bytes);
            return bytes;
        });

    public static void AssertSameRam(Machine a, Machine b)
    {
        Dictionary<string, byte[]> x = Contents(a), y = Contents(b);
        Assert.Equal(x.Keys.Order(), y.Keys.Order());
        foreach (string k in x.Keys)
        {
            Assert.True(x[k].AsSpan().SequenceEqual(y[k]), $"RAMBlock '{k}' differs");
        }
    }

    /// <summary>A connected pair of loopback sockets.</summary>
    public static (NetworkStream Source, NetworkStream Destination) Connect()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new TcpClient();
        client.Connect((IPEndPoint)listener.LocalEndpoint);
        TcpClient server = listener.AcceptTcpClient();
        listener.Stop();
        return (client.GetStream(), server.GetStream());
    }

    /// <summary>The reply a destination sends when its guest runs, for sources that write into a buffer.</summary>
    public static MemoryStream RunningReply()
    {
        var s = new MemoryStream();
        var w = new MigrationRecordWriter(s);
        w.Write(MigrationRecordType.Running, BitConverter.GetBytes(System.Diagnostics.Stopwatch.GetTimestamp()));
        s.Position = 0;
        return s;
    }
}

/// <summary>A stream that accepts <see cref="Limit"/> bytes, then fails as a dropped connection does.</summary>
internal sealed class DroppingStream(long limit) : Stream
{
    public long Limit { get; } = limit;

    public long Written { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => Written;

    public override long Position { get => Written; set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Written + buffer.Length > Limit)
        {
            Written = Limit;
            throw new IOException($"connection reset after {Limit} bytes");
        }
        Written += buffer.Length;
    }
}
