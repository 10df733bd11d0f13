namespace Memspace.Tracing;

/// <summary>The steps of a machine's life, in QEMU's start-up order, as a <see cref="PhaseEvent"/> marks them.</summary>
public enum MachinePhase
{
    /// <summary><c>memory_map_init</c>: the memory system and its "memory" and "I/O" address spaces.</summary>
    MemoryMapInit,

    /// <summary>The accelerator's init (<c>kvm_init</c>): the VM and its memory listeners.</summary>
    AcceleratorInit,

    /// <summary>The board's init (<c>MachineClass::init</c>): RAM, ROMs, host bridge.</summary>
    BoardInit,

    /// <summary>Machine-init-done notifiers (fw_cfg blobs, the SMM address space).</summary>
    MachineInitDone,

    /// <summary>System reset: devices put their registers back.</summary>
    Reset,

    /// <summary>A vCPU exists: from here on, topology changes come from the guest's exits.</summary>
    GuestStart,
}
