namespace Memspace.Vcpus;

/// <summary>A descriptor-table register (GDTR or IDTR).</summary>
/// <param name="Base">Linear base address.</param>
/// <param name="Limit">Limit in bytes minus one.</param>
public readonly record struct X86DescriptorTable(ulong Base, ushort Limit);
