using Memspace.Machines;
using Memspace.Migration;
using static Memspace.Tests.Migration.MigrationFixtures;

namespace Memspace.Tests.Migration;

/// <summary>Snapshot directories on simulated VMs: sparse RAM files, lazy and copied restore, and damaged snapshots refused.</summary>
public sealed class SnapshotTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "memspace-snapshot-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, true);
        }
    }

    private (Machine Machine, WindowDevice Device, FakeVcpus Vcpus) Saved(ulong ram = 16UL << 20)
    {
        (Machine m, WindowDevice d) = Build(ram: ram);
        Scribble(m, 11, 30);
        d.Counter = 99;
        d.Enable(true);
        var v = new FakeVcpus(1, "snap");
        SnapshotSaveResult r = Snapshot.Save(m, v, _dir);
        Assert.True(v.Paused);
        Assert.True(r.DataBytes < r.RamBytes / 4, r.ToString());
        return (m, d, v);
    }

    private static SnapshotRestoreResult Restore(string dir, bool copy = false, bool verify = false, List<WindowDevice>? devices = null, FakeVcpus? vcpus = null)
        => Snapshot.Restore(dir, new SnapshotRestoreOptions { Copy = copy, Verify = verify }, m =>
        {
            var d = new WindowDevice(m);
            m.RegisterDeviceState(d);
            devices?.Add(d);
            FakeVcpus v = vcpus ?? new FakeVcpus(1, "fresh");
            v.Pause();
            return v;
        });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RestoreBringsBackRamDevicesAndVcpus(bool copy)
    {
        (Machine m, _, FakeVcpus v) = Saved();
        using var _1 = m;
        var devices = new List<WindowDevice>();
        var restoredVcpus = new FakeVcpus(1, "fresh");
        SnapshotRestoreResult r = Restore(_dir, copy, verify: true, devices, restoredVcpus);
        using var _2 = r.Machine;
        AssertSameRam(m, r.Machine);
        Assert.Equal(99u, devices[0].Counter);
        Assert.True(devices[0].Enabled);
        Assert.Equal(v.States, restoredVcpus.States);
        Assert.Equal(v.Clock, restoredVcpus.Clock);
        Assert.False(restoredVcpus.Paused);
        var ram = ((X86Machine)r.Machine).Ram.RamBlock!;
        Assert.Equal(copy ? "anonymous" : "file", ram.Memory!.Kind.Split(' ')[0]);
        // The RAM file is sparse: zero pages are holes, and the manifest checks per chunk.
        string ramFile = Path.Combine(_dir, "ram-0.img");
        Assert.Equal((long)m.Options.RamSize, new FileInfo(ramFile).Length);
    }

    [Fact]
    public void ASnapshotTakenWhileTheGuestRunsLetsItRunOn()
    {
        (Machine m, _) = Build(ram: 4UL << 20);
        using var _1 = m;
        var v = new FakeVcpus(1);
        Snapshot.Save(m, v, _dir, resume: true);
        Assert.False(v.Paused);
        Assert.Equal(1, v.Resumes);
        Assert.True(File.Exists(Path.Combine(_dir, SnapshotManifest.FileName)));
    }

    [Fact]
    public void GuestWritesAfterALazyRestoreNeverReachTheSnapshot()
    {
        (Machine m, _, _) = Saved();
        using var _1 = m;
        byte[] before = File.ReadAllBytes(Path.Combine(_dir, "ram-0.img"));
        SnapshotRestoreResult r = Restore(_dir);
        using (r.Machine)
        {
            Scribble(r.Machine, 12, 30);
        }
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(_dir, "ram-0.img")));
        SnapshotRestoreResult again = Restore(_dir, verify: true);
        using var _2 = again.Machine;
        AssertSameRam(m, again.Machine);
    }

    [Fact]
    public void ASnapshotThatCannotBeWrittenWhileTheGuestRunsOnLeavesItRunning()
    {
        (Machine m, _) = Build(ram: 4UL << 20);
        using var _1 = m;
        File.WriteAllText(_dir, "a file where the directory should go");
        try
        {
            var v = new FakeVcpus(1, "snap");
            Assert.ThrowsAny<IOException>(() => Snapshot.Save(m, v, _dir, resume: true));
            Assert.False(v.Paused);
            Assert.ThrowsAny<IOException>(() => Snapshot.Save(m, v, _dir));
            Assert.True(v.Paused);
        }
        finally
        {
            File.Delete(_dir);
        }
    }

    [Fact]
    public void DamagedSnapshotsAreRefusedNamingTheFile()
    {
        (Machine m, _, _) = Saved(4UL << 20);
        using var _1 = m;
        string Fails(Action<string> damage, bool verify = false, bool copyRam = false)
        {
            string copy = _dir + "-copy";
            if (Directory.Exists(copy))
            {
                Directory.Delete(copy, true);
            }
            Directory.CreateDirectory(copy);
            foreach (string f in Directory.GetFiles(_dir))
            {
                File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
            }
            damage(copy);
            try
            {
                return Assert.ThrowsAny<MigrationException>(() => Restore(copy, copy: copyRam, verify: verify)).Message;
            }
            finally
            {
                Directory.Delete(copy, true);
            }
        }
        static void Flip(string file, long at)
        {
            byte[] b = File.ReadAllBytes(file);
            b[at] ^= 1;
            File.WriteAllBytes(file, b);
        }
        Assert.Contains("state.bin is corrupted", Fails(d => Flip(Path.Combine(d, "state.bin"), 40)), StringComparison.Ordinal);
        Assert.Contains("state.bin is", Fails(d => File.WriteAllBytes(Path.Combine(d, "state.bin"), File.ReadAllBytes(Path.Combine(d, "state.bin"))[..100])), StringComparison.Ordinal);
        Assert.Contains("ram-0.img (RAMBlock 'pc.ram') is 4194303 bytes", Fails(d =>
        {
            using var f = new FileStream(Path.Combine(d, "ram-0.img"), FileMode.Open);
            f.SetLength(f.Length - 1);
        }), StringComparison.Ordinal);
        Assert.Contains("ram-0.img (RAMBlock 'pc.ram') chunk 2", Fails(d => Flip(Path.Combine(d, "ram-0.img"), (2 << 20) + 5), verify: true), StringComparison.Ordinal);
        Assert.Contains("is missing", Fails(d => File.Delete(Path.Combine(d, "ram-1.img"))), StringComparison.Ordinal);
        Assert.Contains("has no manifest.json", Fails(d => File.Delete(Path.Combine(d, "manifest.json"))), StringComparison.Ordinal);
        Assert.Contains("version 2", Fails(d => File.WriteAllText(Path.Combine(d, "manifest.json"), File.ReadAllText(Path.Combine(d, "manifest.json")).Replace("\"version\": 1", "\"version\": 2", StringComparison.Ordinal))), StringComparison.Ordinal);
        Assert.Contains("not a plain file name", Fails(d => File.WriteAllText(Path.Combine(d, "manifest.json"), File.ReadAllText(Path.Combine(d, "manifest.json")).Replace("\"ram-1.img\"", "\"../ram-1.img\"", StringComparison.Ordinal))), StringComparison.Ordinal);
        Assert.Contains("firmware size 123", Fails(d => File.WriteAllText(Path.Combine(d, "manifest.json"), System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(Path.Combine(d, "manifest.json")), "\"firmwareSize\": \\d+", "\"firmwareSize\": 123"))), StringComparison.Ordinal);
        Assert.Contains("the manifest and the state file describe different machines", Fails(d => File.WriteAllText(Path.Combine(d, "manifest.json"), File.ReadAllText(Path.Combine(d, "manifest.json")).Replace("\"machine\": \"q35\"", "\"machine\": \"isapc\"", StringComparison.Ordinal))), StringComparison.Ordinal);
        Assert.Contains("page size 4294967296 is not a power of two", Fails(d => File.WriteAllText(Path.Combine(d, "manifest.json"), System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(Path.Combine(d, "manifest.json")), "\"pageSize\": \\d+", "\"pageSize\": 4294967296"))), StringComparison.Ordinal);
        Assert.Contains("the manifest and the state file describe different machines", Fails(d => File.WriteAllText(Path.Combine(d, "manifest.json"), System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(Path.Combine(d, "manifest.json")), "\"pageSize\": \\d+", "\"pageSize\": 8192"))), StringComparison.Ordinal);
        Assert.Contains("chunk checksums for 0xffffffffffffffff bytes", Fails(d => File.WriteAllText(Path.Combine(d, "manifest.json"), System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(Path.Combine(d, "manifest.json")), "\"usedLength\": 4194304,\\s*\"file\": \"ram-0.img\",\\s*\"crc32c\": \\d+,\\s*\"chunks\": \\[[^\\]]*\\]", "\"usedLength\": 18446744073709551615, \"file\": \"ram-0.img\", \"crc32c\": 0, \"chunks\": []"))), StringComparison.Ordinal);
        Assert.Contains("RAMBlock 'pc.bios' is 0x40000 bytes in the snapshot, 0x10000 on the rebuilt q35", Fails(d => File.WriteAllText(Path.Combine(d, "manifest.json"), System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(Path.Combine(d, "manifest.json")), "\"firmwareSize\": \\d+", "\"firmwareSize\": 65536")), copyRam: true), StringComparison.Ordinal);
        Assert.Contains("not valid JSON", Fails(d => File.WriteAllText(Path.Combine(d, "manifest.json"), "{")), StringComparison.Ordinal);
        Assert.Contains("do not match its file checksum", Fails(d => File.WriteAllText(Path.Combine(d, "manifest.json"), System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(Path.Combine(d, "manifest.json")), "\"chunks\": \\[\\s*(\\d+)", "\"chunks\": [ 12345"))), StringComparison.Ordinal);
    }
}
