using System.Buffers.Binary;
using Memspace.Kvm;
using Memspace.Vcpus;

namespace Memspace.Migration;

/// <summary>
/// <see cref="IVcpuTransfer"/> over real <see cref="Vcpu"/>s and their VM's kvmclock: the state is
/// <see cref="Vcpu.SaveState"/>'s <see cref="VcpuState"/> serialized, the clock <c>KVM_GET_CLOCK</c>'s
/// nanoseconds. On a source the vCPUs are running (<see cref="Pause"/> parks them); on a destination
/// they are created and not started, and the first <see cref="Resume"/> starts their threads.
/// </summary>
public sealed class VcpuTransfer : IVcpuTransfer
{
    private readonly IReadOnlyList<Vcpu> _vcpus;
    private readonly KvmVm? _vm;
    private bool _started;
    private bool _paused;

    /// <summary>Wraps <paramref name="vcpus"/>.</summary>
    /// <param name="vcpus">The machine's vCPUs, in index order.</param>
    /// <param name="vm">Their VM, for the clock; null for an accelerator without kvmclock.</param>
    /// <param name="running">Whether their threads run already (a source) or not yet (a destination).</param>
    public VcpuTransfer(IReadOnlyList<Vcpu> vcpus, KvmVm? vm, bool running)
    {
        ArgumentNullException.ThrowIfNull(vcpus);
        _vcpus = vcpus;
        _vm = vm;
        _started = running;
    }

    /// <summary>How long <see cref="Pause"/> waits for each vCPU to park.</summary>
    public TimeSpan PauseTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <inheritdoc/>
    public int Count => _vcpus.Count;

    /// <inheritdoc/>
    public string Kind => _vm is not null ? "kvm-x86_64" : "unknown";

    /// <inheritdoc/>
    public void Pause()
    {
        if (!_started || _paused)
        {
            return;
        }
        foreach (Vcpu v in _vcpus)
        {
            if (!v.Pause(PauseTimeout))
            {
                throw new MigrationException($"vCPU {v.Index} did not pause within {PauseTimeout.TotalSeconds:0} s");
            }
        }
        _paused = true;
    }

    /// <inheritdoc/>
    public void Resume()
    {
        if (!_started)
        {
            _started = true;
            foreach (Vcpu v in _vcpus)
            {
                v.Start();
            }
            return;
        }
        if (_paused)
        {
            _paused = false;
            foreach (Vcpu v in _vcpus)
            {
                v.Resume();
            }
        }
    }

    /// <inheritdoc/>
    public byte[] Save(int index) => _vcpus[index].SaveState().ToArray();

    /// <inheritdoc/>
    public void Load(int index, byte[] state)
    {
        VcpuState s;
        var input = new MemoryStream(state);
        try
        {
            s = VcpuState.Read(input);
        }
        catch (VcpuStateException e)
        {
            throw new MigrationException($"vCPU {index}: {e.Message}", e);
        }
        if (input.Position != state.Length)
        {
            throw new MigrationException($"vCPU {index}: {state.Length - input.Position} unexpected bytes after its state");
        }
        if (s.Index != index)
        {
            throw new MigrationException($"vCPU {index}: the state was saved from vCPU {s.Index}");
        }
        _vcpus[index].LoadState(s);
    }

    /// <inheritdoc/>
    public byte[]? SaveClock()
    {
        if (_vm is null)
        {
            return null;
        }
        KvmClock clock = _vm.GetClock();
        var bytes = new byte[28];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, clock.Nanoseconds);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), clock.Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(12), clock.Realtime);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(20), clock.HostTsc);
        return bytes;
    }

    /// <inheritdoc/>
    public void LoadClock(byte[] clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        if (clock.Length != 28)
        {
            throw new MigrationException($"the guest clock record holds {clock.Length} bytes; kvmclock is 28");
        }
        if (_vm is null)
        {
            throw new MigrationException("the stream carries a kvmclock but the destination has no KVM VM");
        }
        _vm.SetClock(BinaryPrimitives.ReadUInt64LittleEndian(clock));
    }
}
