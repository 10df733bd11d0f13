using System.Runtime.CompilerServices;

namespace Memspace.Core;

/// <summary>
/// Read-copy-update for guest-memory readers (QEMU's <c>rcu_read_lock</c>, <c>synchronize_rcu</c>
/// and <c>call_rcu</c>). Readers take no lock: entering a read section stores the current epoch in
/// a per-thread record. A writer that has unpublished something (a flat view, a RAMBlock) bumps the
/// epoch and frees it only once no reader still holds an older epoch.
/// </summary>
/// <remarks>
/// <para>
/// This is the "memb" flavour of userspace RCU: a reader's epoch store may still sit in its CPU's
/// store buffer when it loads the view, so the writer, before looking at reader epochs, issues a
/// process-wide barrier (<see cref="Interlocked.MemoryBarrierProcessWide"/>, <c>membarrier</c>)
/// that makes every such store visible. A reader pays a thread-static load and two plain stores.
/// Only frees queued before the barrier may be judged by the scan that follows it.
/// </para>
/// <para>Read sections nest and must be short; they must not wait for a writer.</para>
/// </remarks>
internal static class Rcu
{
    private static readonly Lock s_registryLock = new();
    private static readonly Lock s_pendingLock = new();
    private static readonly Lock s_runLock = new();
    private static readonly List<(long Epoch, Action Free)> s_pending = [];
    private static ReaderRecord[] s_readers = [];
    private static long s_epoch = 1;
    private static int s_reclaimScheduled;

    [ThreadStatic]
    private static ReaderRecord? t_record;

    /// <summary>
    /// One thread's reader state. Its fields sit 64 bytes into a 192-byte object, so two threads'
    /// records never share a cache line: a reader's stores stay in its own line.
    /// </summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit, Size = 192)]
    internal sealed class ReaderRecord
    {
        [System.Runtime.InteropServices.FieldOffset(64)]
        public long Epoch;

        [System.Runtime.InteropServices.FieldOffset(72)]
        public int Nesting;
    }

    /// <summary>The calling thread's reader record (registered on first use).</summary>
    internal static ReaderRecord CurrentRecord => t_record ?? RegisterThread();

    /// <summary>
    /// A reader record that belongs to no thread: for an accessor object that one thread at a time uses.
    /// It stays registered (an idle record costs writers one load); <see cref="Unregister"/> drops it.
    /// </summary>
    internal static ReaderRecord Register()
    {
        var r = new ReaderRecord();
        lock (s_registryLock)
        {
            ReaderRecord[] old = s_readers;
            var grown = new ReaderRecord[old.Length + 1];
            Array.Copy(old, grown, old.Length);
            grown[^1] = r;
            Volatile.Write(ref s_readers, grown);
        }
        return r;
    }

    /// <summary>Drops a record made by <see cref="Register"/>; it must not be inside a read section.</summary>
    internal static void Unregister(ReaderRecord record)
    {
        lock (s_registryLock)
        {
            Volatile.Write(ref s_readers, Array.FindAll(s_readers, r => r != record));
        }
    }

    /// <summary>Enters a read section on <paramref name="r"/>, the calling thread's own record.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Enter(ReaderRecord r)
    {
        if (r.Nesting++ == 0)
        {
            Volatile.Write(ref r.Epoch, Volatile.Read(ref s_epoch));
        }
    }

    /// <summary>Enters a read section; dispose the result to leave it. Sections nest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadSection Read()
    {
        ReaderRecord r = t_record ?? RegisterThread();
        if (r.Nesting++ == 0)
        {
            // Made visible to writers by their process-wide barrier (see remarks).
            Volatile.Write(ref r.Epoch, Volatile.Read(ref s_epoch));
        }
        return new ReadSection(r);
    }

    /// <summary>Enters a read section without a disposable (for hot paths that cannot throw); pair with <see cref="Exit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ReaderRecord Enter()
    {
        ReaderRecord r = t_record ?? RegisterThread();
        if (r.Nesting++ == 0)
        {
            Volatile.Write(ref r.Epoch, Volatile.Read(ref s_epoch));
        }
        return r;
    }

    /// <summary>Leaves a read section entered with <see cref="Enter()"/> or <see cref="Enter(ReaderRecord)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Exit(ReaderRecord r)
    {
        if (--r.Nesting == 0)
        {
            Volatile.Write(ref r.Epoch, 0);
        }
    }

    /// <summary>Whether the calling thread is inside a read section.</summary>
    public static bool InReadSection => t_record is { Nesting: > 0 };

    /// <summary>A read section; disposing it leaves the section.</summary>
    public readonly struct ReadSection : IDisposable
    {
        private readonly ReaderRecord _record;

        internal ReadSection(ReaderRecord record) => _record = record;


        /// <summary>Leaves the read section.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Dispose()
        {
            if (--_record.Nesting == 0)
            {
                Volatile.Write(ref _record.Epoch, 0);
            }
        }
    }

    /// <summary>
    /// Waits until every read section that started before the call has ended (QEMU's
    /// <c>synchronize_rcu</c>), then runs deferred frees that became safe. Must not be called inside a
    /// read section.
    /// </summary>
    public static void Synchronize()
    {
        if (InReadSection)
        {
            throw new InvalidOperationException("Rcu.Synchronize inside a read section would wait for itself");
        }
        long epoch = Interlocked.Increment(ref s_epoch);
        Interlocked.MemoryBarrierProcessWide();
        var spin = new SpinWait();
        while (OldestActiveEpoch() < epoch)
        {
            spin.SpinOnce();
        }
        RunReady(epoch);
    }

    /// <summary>
    /// Runs <paramref name="free"/> once every read section that might still see the freed object has
    /// ended (QEMU's <c>call_rcu</c>). It runs on a thread-pool thread, or inside
    /// <see cref="Synchronize"/>.
    /// </summary>
    /// <param name="free">What to do when it is safe.</param>
    public static void Call(Action free)
    {
        ArgumentNullException.ThrowIfNull(free);
        long epoch = Interlocked.Increment(ref s_epoch);
        lock (s_pendingLock)
        {
            s_pending.Add((epoch, free));
        }
        ScheduleReclaim(TimeSpan.Zero);
    }

    /// <summary>Number of deferred frees still waiting for readers.</summary>
    public static int PendingCount
    {
        get
        {
            lock (s_pendingLock)
            {
                return s_pending.Count;
            }
        }
    }

    private static void ScheduleReclaim(TimeSpan delay)
    {
        if (Interlocked.Exchange(ref s_reclaimScheduled, 1) != 0)
        {
            return;
        }
        if (delay == TimeSpan.Zero)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static _ => Reclaim(), null);
        }
        else
        {
            _ = Task.Delay(delay).ContinueWith(static _ => Reclaim(), TaskScheduler.Default);
        }
    }

    private static void Reclaim()
    {
        Volatile.Write(ref s_reclaimScheduled, 0);
        // Frees queued from here on were not covered by the barrier below: leave them for next time.
        long queuedBefore = Volatile.Read(ref s_epoch);
        Interlocked.MemoryBarrierProcessWide();
        RunReady(Math.Min(queuedBefore, OldestActiveEpoch()));
        if (PendingCount > 0)
        {
            // A reader is still inside a section that began before the free; look again shortly.
            ScheduleReclaim(TimeSpan.FromMilliseconds(1));
        }
    }

    /// <summary>Runs every deferred free queued before <paramref name="safeBelow"/> (exclusive upper bound of unsafe epochs).</summary>
    /// <remarks>Frees run under a lock, so a <see cref="Synchronize"/> that returns has seen every earlier free finish.</remarks>
    private static void RunReady(long safeBelow)
    {
        lock (s_runLock)
        {
            List<Action>? ready = null;
            lock (s_pendingLock)
            {
                for (int i = s_pending.Count - 1; i >= 0; i--)
                {
                    if (s_pending[i].Epoch <= safeBelow)
                    {
                        (ready ??= []).Add(s_pending[i].Free);
                        s_pending.RemoveAt(i);
                    }
                }
            }
            if (ready is not null)
            {
                for (int i = ready.Count - 1; i >= 0; i--)
                {
                    ready[i]();
                }
            }
        }
    }

    /// <summary>The smallest epoch held by an active reader, or <see cref="long.MaxValue"/>.</summary>
    private static long OldestActiveEpoch()
    {
        long oldest = long.MaxValue;
        foreach (ReaderRecord r in Volatile.Read(ref s_readers))
        {
            long e = Volatile.Read(ref r.Epoch);
            if (e != 0 && e < oldest)
            {
                oldest = e;
            }
        }
        return oldest;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ReaderRecord RegisterThread() => t_record = Register();
}
