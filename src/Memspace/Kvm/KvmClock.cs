namespace Memspace.Kvm;

/// <summary>
/// The VM's kvmclock as <c>KVM_GET_CLOCK</c> reports it (<c>struct kvm_clock_data</c>): what a snapshot
/// or a migration saves, and <see cref="KvmVm.SetClock"/> gives the destination, so that guest time
/// neither jumps nor runs backwards.
/// </summary>
/// <param name="Nanoseconds">The kvmclock value, in guest nanoseconds.</param>
/// <param name="Flags"><c>KVM_CLOCK_TSC_STABLE</c> (2), <c>KVM_CLOCK_REALTIME</c> (4), <c>KVM_CLOCK_HOST_TSC</c> (8).</param>
/// <param name="Realtime">Host CLOCK_REALTIME at the moment of the reading, in ns, when <c>KVM_CLOCK_REALTIME</c> is set.</param>
/// <param name="HostTsc">Host TSC at the moment of the reading, when <c>KVM_CLOCK_HOST_TSC</c> is set.</param>
public readonly record struct KvmClock(ulong Nanoseconds, uint Flags, ulong Realtime, ulong HostTsc);
