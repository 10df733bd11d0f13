namespace Memspace.Machines.Firmware;

/// <summary>Why a firmware run ended.</summary>
public enum FirmwareBootOutcome
{
    /// <summary>The debug console printed the end marker (SeaBIOS's "No bootable device").</summary>
    ReachedEnd,

    /// <summary>The vCPU halted with nothing pending.</summary>
    Halted,

    /// <summary>The guest asked for a system reset (port 0x92, the 8042, 0xcf9).</summary>
    ResetRequested,

    /// <summary>The guest asked for power-off (ACPI SLP_EN).</summary>
    PowerOff,

    /// <summary>The vCPU stopped for another reason (shutdown, failed entry, unhandled exit).</summary>
    Stopped,

    /// <summary>The timeout passed first.</summary>
    TimedOut,
}
