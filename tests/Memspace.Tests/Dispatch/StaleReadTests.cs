using Memspace.Regions;

namespace Memspace.Tests.Dispatch;

/// <summary>
/// Readers never see a mapping older than the one in place when their access began, even with a
/// per-thread translation cache: a writer switches the RAM behind one guest address between two
/// regions (each filled with its own pattern) and bumps a sequence after each commit; a reader that
/// read the sequence before an access must see that mapping's pattern or a newer one, never an older
/// one, and never a mix.
/// </summary>
public class StaleReadTests
{
    private const ulong At = 0x10_0000;

    [Fact]
    public void ReadersSeeTheCurrentMappingOrANewerOne()
    {
        var s = new MemorySystem();
        MemoryRegion root = MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64);
        AddressSpace space = s.CreateAddressSpace(root, "memory");
        MemoryRegion[] banks = [MemoryRegion.CreateRam(s, "bank0", 0x1000), MemoryRegion.CreateRam(s, "bank1", 0x1000)];
        for (int b = 0; b < 2; b++)
        {
            banks[b].RamBlock!.Write(0, Enumerable.Repeat((byte)(0xa0 + b), 0x1000).ToArray());
        }
        root.AddSubregion(At, banks[0]);
        // After k commits bank k % 2 is mapped. 'started' counts commits begun, 'completed' those published.
        long started = 0;
        long completed = 0;
        using var stop = new CancellationTokenSource();
        long reads = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();

        void Reader()
        {
            while (!stop.IsCancellationRequested)
            {
                long seen = Volatile.Read(ref completed);
                ulong v = space.LoadU64Le(At + 8, out MemTxResult r, MemTxAttrs.UnspecifiedAttrs);
                long after = Volatile.Read(ref started);
                int bank = (int)((byte)v - 0xa0);
                bool consistent = r == MemTxResult.Ok && v == 0x0101010101010101UL * (byte)v && bank is 0 or 1;
                // The mapping read is one of those in place from commit 'seen' (published before the
                // read began) to commit 'after' (the last one begun when it ended): never an older one.
                bool current = after > seen || bank == (int)(seen & 1);
                if (!consistent || !current)
                {
                    failures.Enqueue($"read 0x{v:x} ({r}) between commits {seen} and {after}");
                    return;
                }
                Interlocked.Increment(ref reads);
            }
        }

        var readers = new[] { new Thread(Reader), new Thread(Reader) };
        foreach (Thread t in readers)
        {
            t.Start();
        }
        for (int i = 0; i < 4000 && failures.IsEmpty; i++)
        {
            Volatile.Write(ref started, i + 1);
            using (s.Transaction())
            {
                root.RemoveSubregion(banks[i & 1]);
                root.AddSubregion(At, banks[(i + 1) & 1]);
            }
            Volatile.Write(ref completed, i + 1);
        }
        stop.Cancel();
        foreach (Thread t in readers)
        {
            t.Join();
        }
        Assert.Empty(failures);
        Assert.True(Interlocked.Read(ref reads) > 1000, $"only {reads} reads ran");
    }
}
