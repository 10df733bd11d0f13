using System.Runtime.CompilerServices;
using Memspace.Core;

namespace Memspace.Dispatch;

/// <summary>
/// One thread's guest-access state: its RCU reader record, the RAM range it used last, and a small
/// hashed translation cache from guest page to the RAM range that serves it (what QEMU's softmmu TLB is
/// to its CPUs). An entry is used only while the dispatch table it was filled from is still the current
/// one, so a commit invalidates it by publishing a new table; the thread's RCU read section keeps the
/// RAM behind a hit mapped. Nothing here is shared with other threads: a reader's fast path writes
/// only its own lines.
/// </summary>
internal sealed class DispatchReader
{
    /// <summary>log2 of the entries in the translation cache.</summary>
    public const int CacheBits = 10;

    /// <summary>Entries in the translation cache.</summary>
    public const int CacheSize = 1 << CacheBits;

    private const int PageBits = 12;

    [ThreadStatic]
    private static DispatchReader? t_current;

    private DispatchReader(Rcu.ReaderRecord record) => Rcu = record;

    /// <summary>A reader with a read-side record of its own, for an accessor that one thread at a time uses.</summary>
    public static DispatchReader Detached() => new(Core.Rcu.Register());

    /// <summary>The calling thread's state.</summary>
    public static DispatchReader Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => t_current ?? Create();
    }

    /// <summary>The RCU reader record this reader's accesses enter.</summary>
    public Rcu.ReaderRecord Rcu { get; }

    /// <summary>The RAM range this thread used last (checked before the cache: one range often serves everything).</summary>
    public Translation Last;

    /// <summary>The translation cache.</summary>
    public readonly Translation[] Cache = new Translation[CacheSize];

    /// <summary>
    /// The cache slot for <paramref name="address"/>: its page number hashed (Fibonacci hashing), so
    /// that pages at power-of-two strides, as guest RAM regions often are, do not all share a few slots.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref Translation SlotFor(ulong address)
        => ref Cache[(int)(((address >> PageBits) * 0x9E3779B97F4A7C15UL) >> (64 - CacheBits))];

    /// <summary>Remembers <paramref name="e"/> of <paramref name="table"/> for <paramref name="address"/>, if its memory can be accessed directly.</summary>
    public void Fill(DispatchTable table, ulong address, in DispatchEntry e)
    {
        if (!e.DirectRead && !e.DirectWritable)
        {
            return;
        }
        var t = new Translation
        {
            Table = table.Id,
            Start = e.Start,
            Limit = e.LastOffset,
            Host = e.Host,
            Readable = e.DirectRead,
            Writable = e.DirectWritable && e.DirtyMask == 0,
        };
        Last = t;
        SlotFor(address) = t;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DispatchReader Create() => t_current = new DispatchReader(Core.Rcu.CurrentRecord);

    /// <summary>
    /// A cached translation: the RAM range [<see cref="Start"/>, <see cref="Start"/> + <see cref="Limit"/>]
    /// of <see cref="Table"/> starts at host address <see cref="Host"/>.
    /// </summary>
    internal struct Translation
    {
        /// <summary>The <see cref="DispatchTable.Id"/> of the table the range belongs to; the entry is valid only while it is the address space's current one (a number, not a reference: filling the cache needs no GC write barrier).</summary>
        public long Table;

        /// <summary>First guest address of the range.</summary>
        public ulong Start;

        /// <summary>Size of the range minus one.</summary>
        public ulong Limit;

        /// <summary>Host address of <see cref="Start"/>.</summary>
        public nint Host;

        /// <summary>Reads may go straight to host memory.</summary>
        public bool Readable;

        /// <summary>Plain writes may go straight to host memory (writable RAM that logs no dirty pages).</summary>
        public bool Writable;

        /// <summary>The offset of [<paramref name="address"/>, + <paramref name="size"/>) in the range, when it lies entirely inside it; else ulong.MaxValue.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly ulong OffsetOf(ulong address, ulong size)
        {
            ulong offset = address - Start;
            return offset <= Limit && Limit - offset >= size - 1 ? offset : ulong.MaxValue;
        }
    }
}
