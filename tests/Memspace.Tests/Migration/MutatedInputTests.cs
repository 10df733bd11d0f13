using Memspace.Machines;
using Memspace.Migration;
using static Memspace.Tests.Migration.MigrationFixtures;

namespace Memspace.Tests.Migration;

/// <summary>Random damage to a stream or a manifest only ever gives a <see cref="MigrationException"/> (or, for a harmless change, success).</summary>
public sealed class MutatedInputTests
{
    [Fact]
    public void MutatedStreamsAreRefusedWithAMigrationErrorOnly()
    {
        (Machine src, WindowDevice sd) = Build(ram: 2UL << 20);
        using var _1 = src;
        Scribble(src, 21, 6);
        sd.Counter = 5;
        var buffer = new MemoryStream();
        new MigrationSource(src, new FakeVcpus(1, "m")).Migrate(buffer, RunningReply());
        byte[] stream = buffer.ToArray();
        (Machine dst, _) = Build(ram: 2UL << 20);
        using var _2 = dst;
        var rng = new Random(1234);
        for (int i = 0; i < 300; i++)
        {
            byte[] bad = Mutate(stream, rng);
            var v = new FakeVcpus(1);
            v.Pause();
            try
            {
                new MigrationDestination(dst, v).Receive(new MemoryStream(bad), null);
                Assert.Fail($"mutation {i} was accepted");
            }
            catch (MigrationException)
            {
                Assert.True(v.Paused, $"mutation {i} started the guest");
            }
        }
    }

    [Fact]
    public void MutatedManifestsGiveAMigrationErrorOnly()
    {
        string dir = Path.Combine(Path.GetTempPath(), "memspace-mutated-" + Guid.NewGuid().ToString("N"));
        try
        {
            (Machine m, _) = Build(ram: 2UL << 20);
            using (m)
            {
                Snapshot.Save(m, new FakeVcpus(1), dir);
            }
            string path = Path.Combine(dir, SnapshotManifest.FileName);
            byte[] manifest = File.ReadAllBytes(path);
            var rng = new Random(99);
            int refused = 0;
            for (int i = 0; i < 300; i++)
            {
                File.WriteAllBytes(path, Mutate(manifest, rng));
                try
                {
                    Snapshot.Open(dir);
                }
                catch (MigrationException)
                {
                    refused++;
                    continue;
                }
                // A mutation Open accepts (whitespace, a value still in range) must restore or be refused by name too: never crash or hang.
                try
                {
                    Snapshot.Restore(dir, new SnapshotRestoreOptions { Copy = true }, machine =>
                    {
                        machine.RegisterDeviceState(new WindowDevice(machine));
                        var v = new FakeVcpus(1);
                        v.Pause();
                        return v;
                    }).Machine.Dispose();
                }
                catch (MigrationException)
                {
                    refused++;
                }
            }
            // Most random damage to a checksummed manifest must be noticed.
            Assert.True(refused > 250, $"only {refused} of 300 mutated manifests were refused");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static byte[] Mutate(byte[] original, Random rng)
    {
        byte[] b = (byte[])original.Clone();
        switch (rng.Next(4))
        {
            case 0:
                b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                return b;
            case 1:
                return b[..rng.Next(b.Length)];
            case 2:
                int at = rng.Next(b.Length);
                return [.. b[..at], (byte)rng.Next(256), .. b[at..]];
            default:
                for (int k = 0; k < 8; k++)
                {
                    b[rng.Next(b.Length)] = (byte)rng.Next(256);
                }
                return b;
        }
    }
}
