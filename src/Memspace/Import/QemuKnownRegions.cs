namespace Memspace.Import;

/// <summary>
/// What QEMU's own devices are known to be, for importing a dump without its flat views: the facts
/// a <c>-D</c> dump does not print, by the region names QEMU 7.2's devices give.
/// </summary>
public static class QemuKnownRegions
{
    /// <summary>
    /// QEMU 7.2: PC's <c>io</c> root, the RTC, std-vga's MMIO BAR and the generic PCIe host's windows
    /// have callbacks and subregions; <c>gpex_mmio</c>, <c>gpex_ioport</c>, <c>platform bus</c> and
    /// <c>e1000e-flash</c> and a PCI bridge's secondary-bus spaces are empty pure containers; PAM's
    /// <c>pam-rom</c> aliases are read-only; a PCI bridge's closed windows are empty aliases. The
    /// conformance tests import every dump of the committed QEMU 7.2 corpus with these.
    /// </summary>
    public static MtreeImportOptions Qemu72 { get; } = new()
    {
        Terminating = new HashSet<string>(StringComparer.Ordinal) { "io", "rtc", "vga.mmio", "gpex_mmio_window", "gpex_ioport_window" },
        Containers = new HashSet<string>(StringComparer.Ordinal) { "gpex_mmio", "gpex_ioport", "platform bus", "e1000e-flash", "pci_bridge_pci", "pci_bridge_io" },
        ReadOnly = new HashSet<string>(StringComparer.Ordinal) { "pam-rom" },
        Empty = new HashSet<string>(StringComparer.Ordinal) { "pci_bridge_io", "pci_bridge_mem", "pci_bridge_pref_mem" },
    };

    /// <summary>
    /// The <c>i/o</c> regions with subregions in QEMU 7.2's pc, q35, microvm, isapc and Arm boards that
    /// are pure containers (no callbacks of their own); any other such region is undecided without the
    /// flat views.
    /// </summary>
    public static IReadOnlySet<string> Qemu72PureContainers { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "system", "memory", "secure-memory", "pci", "smram", "bus master container", "ich9-pm", "piix4-pm", "piix-bmdma-container",
        "virtio-pci", "virtio-net-pci-msix", "e1000e-msix", "gicv3_its", "a15mp-priv-container", "armv7m-container",
        "armsse-container", "arm-sse-cpu-container0", "gpex_ioport", "gpex_mmio",
    };
}
