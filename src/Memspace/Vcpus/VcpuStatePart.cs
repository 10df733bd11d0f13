namespace Memspace.Vcpus;

/// <summary>One named piece of a <see cref="VcpuState"/> (for KVM: "regs", "sregs", "xsave", "msrs", ...), an opaque byte blob.</summary>
/// <param name="Name">The part's name: 1 to <see cref="VcpuState.MaxNameLength"/> printable ASCII characters.</param>
/// <param name="Data">Its bytes, at most <see cref="VcpuState.MaxPartLength"/>.</param>
public sealed record VcpuStatePart(string Name, byte[] Data);
