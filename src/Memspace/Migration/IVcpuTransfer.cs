namespace Memspace.Migration;

/// <summary>
/// The vCPUs and the guest clock of a machine, as a migration or snapshot moves them: pause and resume
/// the guest, save and load each vCPU's state and the clock as opaque bytes. A machine without vCPUs uses <see cref="None"/>.
/// </summary>
public interface IVcpuTransfer
{
    /// <summary>A machine without vCPUs (its RAM and devices only).</summary>
    static IVcpuTransfer None { get; } = new NoVcpus();

    /// <summary>Number of vCPUs.</summary>
    int Count { get; }

    /// <summary>Which accelerator and architecture the state belongs to ("kvm-x86_64"); a destination refuses another kind.</summary>
    string Kind { get; }

    /// <summary>Stops the guest (every vCPU parked outside guest mode). Idempotent.</summary>
    void Pause();

    /// <summary>Lets the guest run (again, or for the first time on a destination). Idempotent.</summary>
    void Resume();

    /// <summary>The state of vCPU <paramref name="index"/>; the guest is paused.</summary>
    /// <param name="index">vCPU index.</param>
    byte[] Save(int index);

    /// <summary>Loads vCPU <paramref name="index"/>'s state; the guest is paused. Throws a <see cref="Core.MemspaceException"/> naming what is wrong.</summary>
    /// <param name="index">vCPU index.</param>
    /// <param name="state">What <see cref="Save"/> returned on the source.</param>
    void Load(int index, byte[] state);

    /// <summary>The guest clock (kvmclock), or null when the accelerator has none; the guest is paused.</summary>
    byte[]? SaveClock();

    /// <summary>Sets the guest clock; the guest is paused.</summary>
    /// <param name="clock">What <see cref="SaveClock"/> returned on the source.</param>
    void LoadClock(byte[] clock);

    private sealed class NoVcpus : IVcpuTransfer
    {
        public int Count => 0;

        public string Kind => "none";

        public void Pause()
        {
        }

        public void Resume()
        {
        }

        public byte[] Save(int index) => throw new ArgumentOutOfRangeException(nameof(index), "the machine has no vCPU");

        public void Load(int index, byte[] state) => throw new ArgumentOutOfRangeException(nameof(index), "the machine has no vCPU");

        public byte[]? SaveClock() => null;

        public void LoadClock(byte[] clock) => throw new MigrationException("the stream carries a guest clock but the destination has no vCPU to run it");
    }
}
