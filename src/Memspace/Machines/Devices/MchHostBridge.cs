using System.Buffers.Binary;
using Memspace.Core;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The Q35 memory controller hub of the <c>q35</c> machine (QEMU's <c>mch_realize</c>, <c>mch_update</c>):
/// the PCI address space under system memory, the SMRAM windows ("smram-region", "smram-open-high",
/// "smram" with "smram-low" and "smram-high"), TSEG ("tseg-blackhole", "tseg-window"), SMRAM at SMBASE
/// ("smbase-blackhole", "smbase-window"), 13 PAM segments and the PCIe MMCONFIG window
/// ("pcie-mmcfg-mmio"), all driven by configuration registers as in QEMU 7.2.
/// </summary>
public sealed class MchHostBridge : PciHostBridge
{
    /// <summary>PCIEXBAR (64-bit).</summary>
    public const int PciexbarRegister = 0x60;

    /// <summary>First PAM register.</summary>
    public const int PamRegister = 0x90;

    /// <summary>SMRAM control.</summary>
    public const int SmramRegister = 0x9d;

    /// <summary>Extended SMRAM control.</summary>
    public const int EsmramcRegister = 0x9e;

    /// <summary>Extended TSEG size in MiB (QEMU-specific).</summary>
    public const int ExtTsegMbytesRegister = 0x50;

    /// <summary>SMRAM-at-SMBASE control (QEMU-specific).</summary>
    public const int FSmbaseRegister = 0x9c;

    /// <summary>PCIEXBAR after reset: 0xb0000000, 256 MiB, disabled.</summary>
    public const ulong PciexbarDefault = 0xb000_0000;

    private const byte DOpen = 1 << 6, DCls = 1 << 5, DLck = 1 << 4, GSmrame = 1 << 3, CBaseSeg = 2;
    private const byte HSmrame = 1 << 7, TEn = 1, TsegSizeMask = 3 << 1;
    private const byte EsmramcDefault = (1 << 5) | (1 << 4) | (1 << 3);
    private const ulong SmbaseAddress = 0x30000, SmbaseSize = 0x20000;
    private const ushort ExtTsegQuery = 0xffff;
    private const ushort ExtTsegMbytes = 16;

    private readonly Pam[] _pams = new Pam[Pam.Count];
    private readonly ulong _below4g;
    private ulong _mmcfgBase = ulong.MaxValue;

    /// <summary>Creates the MCH and maps everything in QEMU's order (registers are applied at reset).</summary>
    /// <param name="machine">The q35 machine.</param>
    public MchHostBridge(X86Machine machine)
        : base(machine, "mch", PciIds.Q35Mch, machine?.PciMemory ?? throw new InvalidOperationException("the MCH needs the PCI address space"))
    {
        MemorySystem s = machine.System;
        MemoryRegion pci = machine.PciMemory ?? throw new InvalidOperationException("the MCH needs the PCI address space");
        MemoryRegion system = machine.SystemMemory;
        MemoryRegion ram = machine.Ram;
        _below4g = machine.BelowFourGiB;
        var owner = MemoryRegionOwner.Device("mch", "/machine/q35/mch", devicePath: "0000:00:00.0");
        MapConfigPorts(machine.SystemIo);
        Mmcfg = MemoryRegion.CreateIo(s, "pcie-mmcfg-mmio", 1UL << 28, new MemoryRegionOps
        {
            Read = (addr, size) => EcamRead(addr, (int)size),
            Write = (addr, value, size) => EcamWrite(addr, (uint)value, (int)size),
            Endianness = DeviceEndianness.Little,
        }, MemoryRegionOwner.Device("q35-pcihost", "/machine/q35"));

        system.AddSubregion(0, pci, -1);
        SmramRegion = MemoryRegion.CreateAlias(s, "smram-region", pci, 0xa0000, 0x20000, owner);
        system.AddSubregion(0xa0000, SmramRegion, 1);
        SmramRegion.SetEnabled(true);
        OpenHighSmram = MemoryRegion.CreateAlias(s, "smram-open-high", ram, 0xa0000, 0x20000, owner);
        system.AddSubregion(0xfeda0000, OpenHighSmram, 1);
        OpenHighSmram.SetEnabled(false);
        Smram = MemoryRegion.CreateContainer(s, "smram", 1UL << 32, owner);
        Smram.SetEnabled(true);
        LowSmram = MemoryRegion.CreateAlias(s, "smram-low", ram, 0xa0000, 0x20000, owner);
        LowSmram.SetEnabled(true);
        Smram.AddSubregion(0xa0000, LowSmram);
        HighSmram = MemoryRegion.CreateAlias(s, "smram-high", ram, 0xa0000, 0x20000, owner);
        HighSmram.SetEnabled(true);
        Smram.AddSubregion(0xfeda0000, HighSmram);
        var blackhole = new MemoryRegionOps
        {
            Read = (_, _) => 0xffff_ffff,
            Write = (_, _, _) => { },
            Endianness = DeviceEndianness.Little,
            Valid = new ValidAccess { MinAccessSize = 1, MaxAccessSize = 4 },
            Impl = new ImplAccess { MinAccessSize = 4, MaxAccessSize = 4 },
        };
        TsegBlackhole = MemoryRegion.CreateIo(s, "tseg-blackhole", 0, blackhole, owner);
        TsegBlackhole.SetEnabled(false);
        system.AddSubregion(_below4g, TsegBlackhole, 1);
        TsegWindow = MemoryRegion.CreateAlias(s, "tseg-window", ram, _below4g, 0, owner);
        TsegWindow.SetEnabled(false);
        Smram.AddSubregion(_below4g, TsegWindow);
        SmbaseBlackhole = MemoryRegion.CreateIo(s, "smbase-blackhole", SmbaseSize, blackhole, owner);
        SmbaseBlackhole.SetEnabled(false);
        system.AddSubregion(SmbaseAddress, SmbaseBlackhole, 1);
        SmbaseWindow = MemoryRegion.CreateAlias(s, "smbase-window", ram, SmbaseAddress, SmbaseSize, owner);
        SmbaseWindow.SetEnabled(false);
        Smram.AddSubregion(SmbaseAddress, SmbaseWindow);
        for (int i = 0; i < Pam.Count; i++)
        {
            (uint start, uint size) = Pam.Segment(i);
            _pams[i] = new Pam(s, owner, ram, system, pci, start, size);
        }
    }

    /// <summary>"pcie-mmcfg-mmio": ECAM configuration space, mapped where PCIEXBAR says when enabled.</summary>
    public MemoryRegion Mmcfg { get; }

    /// <summary>"smram-region": the legacy VGA window as non-SMM code sees it.</summary>
    public MemoryRegion SmramRegion { get; }

    /// <summary>"smram-open-high": high SMRAM visible to non-SMM code while open.</summary>
    public MemoryRegion OpenHighSmram { get; }

    /// <summary>"smram": what SMM code sees on top of normal memory (QEMU's <c>/machine/smram</c>).</summary>
    public MemoryRegion Smram { get; }

    /// <summary>"smram-low": RAM at 0xa0000 for SMM.</summary>
    public MemoryRegion LowSmram { get; }

    /// <summary>"smram-high": RAM at 0xa0000 seen at 0xfeda0000 for SMM.</summary>
    public MemoryRegion HighSmram { get; }

    /// <summary>"tseg-blackhole": hides TSEG from non-SMM code.</summary>
    public MemoryRegion TsegBlackhole { get; }

    /// <summary>"tseg-window": TSEG for SMM code.</summary>
    public MemoryRegion TsegWindow { get; }

    /// <summary>"smbase-blackhole": hides SMRAM at SMBASE from non-SMM code.</summary>
    public MemoryRegion SmbaseBlackhole { get; }

    /// <summary>"smbase-window": RAM at SMBASE for SMM code.</summary>
    public MemoryRegion SmbaseWindow { get; }

    /// <summary>The PAM segments.</summary>
    public IReadOnlyList<Pam> Pams => _pams;

    /// <summary>QEMU's <c>mch_reset</c>: PCIEXBAR, SMRAM, ESMRAMC, the extended TSEG size and F_SMBASE back to their defaults, then <c>mch_update</c>.</summary>
    public override void Reset()
    {
        base.Reset();
        BinaryPrimitives.WriteUInt64LittleEndian(ConfigBytes[PciexbarRegister..], PciexbarDefault);
        ConfigBytes[SmramRegister] = CBaseSeg;
        ConfigBytes[EsmramcRegister] = EsmramcDefault;
        WriteMask[SmramRegister] = DOpen | DCls | DLck | GSmrame;
        WriteMask[EsmramcRegister] = HSmrame | TsegSizeMask | TEn;
        BinaryPrimitives.WriteUInt16LittleEndian(ConfigBytes[ExtTsegMbytesRegister..], ExtTsegQuery);
        ConfigBytes[FSmbaseRegister] = 0;
        WriteMask[FSmbaseRegister] = 0xff;
        using (Machine.System.Transaction())
        {
            UpdatePciexbar();
            UpdatePam();
            UpdateSmram();
            UpdateExtTsegMbytes();
            UpdateSmbaseSmram();
        }
    }

    /// <inheritdoc/>
    protected override void ConfigWritten(int register, int length)
    {
        if (Overlaps(register, length, PamRegister, 7))
        {
            UpdatePam();
        }
        if (Overlaps(register, length, PciexbarRegister, 8))
        {
            UpdatePciexbar();
        }
        if (Overlaps(register, length, SmramRegister, 2))
        {
            UpdateSmram();
        }
        if (Overlaps(register, length, ExtTsegMbytesRegister, 2))
        {
            UpdateExtTsegMbytes();
        }
        if (Overlaps(register, length, FSmbaseRegister, 1))
        {
            UpdateSmbaseSmram();
        }
    }

    /// <summary>
    /// Saves, after the configuration address, the write masks the lock bits change (SMRAM, ESMRAMC and
    /// F_SMBASE: "wmask_smram", "wmask_esmramc", "wmask_f_smbase"), which decide what the guest may still write.
    /// </summary>
    /// <param name="writer">Where the fields go.</param>
    protected override void SaveFunctionState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        base.SaveFunctionState(writer);
        writer.WriteU8("wmask_smram", WriteMask[SmramRegister]);
        writer.WriteU8("wmask_esmramc", WriteMask[EsmramcRegister]);
        writer.WriteU8("wmask_f_smbase", WriteMask[FSmbaseRegister]);
    }

    /// <inheritdoc/>
    protected override Action? ReadFunctionState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        Action? bridge = base.ReadFunctionState(reader);
        byte smram = reader.ReadU8("wmask_smram");
        byte esmramc = reader.ReadU8("wmask_esmramc");
        byte fSmbase = reader.ReadU8("wmask_f_smbase");
        bool open = smram == (DOpen | DCls | DLck | GSmrame) && esmramc == (HSmrame | TsegSizeMask | TEn);
        bool locked = smram == DCls && esmramc == 0;
        if (!open && !locked)
        {
            throw reader.Fail($"SMRAM/ESMRAMC write masks 0x{smram:x2}/0x{esmramc:x2} are neither the open (0x78/0x87) nor the locked (0x20/0x00) ones");
        }
        if (fSmbase is not (0xff or 0x02 or 0x00))
        {
            throw reader.Fail($"F_SMBASE write mask 0x{fSmbase:x2} is none of 0xff (reset), 0x02 (queried), 0x00 (locked)");
        }
        return () =>
        {
            bridge?.Invoke();
            if (locked && (ConfigBytes[SmramRegister] & DLck) == 0)
            {
                // A lock without D_LCK cannot happen on the chip; keep the registers' word.
                locked = false;
            }
            WriteMask[SmramRegister] = locked ? DCls : (byte)(DOpen | DCls | DLck | GSmrame);
            WriteMask[EsmramcRegister] = locked ? (byte)0 : (byte)(HSmrame | TsegSizeMask | TEn);
            WriteMask[FSmbaseRegister] = fSmbase;
        };
    }

    /// <summary>SMRAM, ESMRAMC and F_SMBASE load through their reset write masks (a lock only narrows them).</summary>
    /// <param name="register">Byte offset.</param>
    protected override byte LoadableMask(int register) => register switch
    {
        SmramRegister => DOpen | DCls | DLck | GSmrame,
        EsmramcRegister => HSmrame | TsegSizeMask | TEn,
        FSmbaseRegister => 0xff,
        _ => base.LoadableMask(register),
    };

    /// <summary>After a load: PCIEXBAR, PAM, SMRAM/TSEG, the TSEG size and SMRAM at SMBASE, as <c>mch_update</c> does on QEMU's post-load.</summary>
    protected override void ConfigLoaded()
    {
        using (Machine.System.Transaction())
        {
            UpdatePciexbar();
            UpdatePam();
            UpdateSmram();
            UpdateExtTsegMbytes();
            UpdateSmbaseSmram();
        }
    }

    private void UpdatePam() => Pam.UpdateAll(_pams, ConfigBytes, PamRegister, Machine.System, Trace);

    private void UpdatePciexbar()
    {
        ulong bar = BinaryPrimitives.ReadUInt64LittleEndian(ConfigBytes[PciexbarRegister..]);
        bool enable = (bar & 1) != 0;
        ulong mask = ((1UL << 36) - 1) & ~((1UL << 28) - 1);
        uint length;
        switch ((bar >> 1) & 3)
        {
            case 0:
                length = 256u << 20;
                break;
            case 1:
                length = 128u << 20;
                mask |= (1UL << 26) | (1UL << 25);
                break;
            case 2:
                length = 64u << 20;
                mask |= 1UL << 25;
                break;
            default:
                Machine.System.ReportGuestError("Q35: reserved PCIEXBAR length");
                return;
        }
        ulong address = bar & mask;
        using (Machine.System.Transaction())
        {
            if (_mmcfgBase != ulong.MaxValue)
            {
                Machine.SystemMemory.RemoveSubregion(Mmcfg);
                _mmcfgBase = ulong.MaxValue;
            }
            if (enable)
            {
                Mmcfg.SetSize(length);
                Machine.SystemMemory.AddSubregion(address, Mmcfg);
                _mmcfgBase = address;
                Trace($"PCIEXBAR = 0x{bar:x}: '{Mmcfg.Name}' mapped at 0x{address:x}, {length >> 20} MiB");
            }
        }
    }

    private void UpdateSmram()
    {
        ref byte smram = ref ConfigBytes[SmramRegister];
        byte esmramc = ConfigBytes[EsmramcRegister];
        bool hSmrame = (esmramc & HSmrame) != 0;
        if ((smram & DLck) != 0)
        {
            smram &= unchecked((byte)~DOpen);
            WriteMask[SmramRegister] = DCls;
            WriteMask[EsmramcRegister] = 0;
        }
        string why = $"SMRAM 0x{smram:x2} ESMRAMC 0x{esmramc:x2}";
        using (Machine.System.Transaction())
        {
            if ((smram & DOpen) != 0)
            {
                SetEnabled(SmramRegion, hSmrame, why);
                SetEnabled(OpenHighSmram, hSmrame, why);
            }
            else
            {
                SetEnabled(SmramRegion, true, why);
                SetEnabled(OpenHighSmram, false, why);
            }
            if ((smram & GSmrame) != 0)
            {
                SetEnabled(LowSmram, !hSmrame, why);
                SetEnabled(HighSmram, hSmrame, why);
            }
            else
            {
                SetEnabled(LowSmram, false, why);
                SetEnabled(HighSmram, false, why);
            }
            ulong tseg = 0;
            if ((esmramc & TEn) != 0 && (smram & GSmrame) != 0)
            {
                tseg = ((esmramc & TsegSizeMask) >> 1) switch
                {
                    0 => 1UL << 20,
                    1 => 2UL << 20,
                    2 => 8UL << 20,
                    _ => (ulong)BinaryPrimitives.ReadUInt16LittleEndian(ConfigBytes[ExtTsegMbytesRegister..]) << 20,
                };
            }
            ulong tsegStart = _below4g - tseg;
            if (TsegBlackhole.Size64 != tseg || TsegBlackhole.Address != tsegStart || TsegBlackhole.Enabled != (tseg != 0))
            {
                Trace($"{why}: TSEG {tseg >> 20} MiB at 0x{tsegStart:x}");
            }
            Machine.SystemMemory.RemoveSubregion(TsegBlackhole);
            TsegBlackhole.SetEnabled(tseg != 0);
            TsegBlackhole.SetSize(tseg);
            Machine.SystemMemory.AddSubregion(tsegStart, TsegBlackhole, 1);
            TsegWindow.SetEnabled(tseg != 0);
            TsegWindow.SetSize(tseg);
            TsegWindow.SetAddress(tsegStart);
            TsegWindow.SetAliasOffset(tsegStart);
        }
    }

    private void UpdateExtTsegMbytes()
    {
        if (BinaryPrimitives.ReadUInt16LittleEndian(ConfigBytes[ExtTsegMbytesRegister..]) == ExtTsegQuery)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(ConfigBytes[ExtTsegMbytesRegister..], ExtTsegMbytes);
        }
    }

    private void UpdateSmbaseSmram()
    {
        const byte query = 0xff, inRam = 0x01, lck = 0x02;
        ref byte reg = ref ConfigBytes[FSmbaseRegister];
        if (reg == query)
        {
            WriteMask[FSmbaseRegister] = lck;
            reg = inRam;
            return;
        }
        if (WriteMask[FSmbaseRegister] == 0xff)
        {
            reg = 0; // reset state: the write is discarded
        }
        bool locked;
        if ((reg & lck) != 0)
        {
            WriteMask[FSmbaseRegister] &= unchecked((byte)~lck);
            reg = lck;
            locked = true;
        }
        else
        {
            locked = false;
        }
        using (Machine.System.Transaction())
        {
            SetEnabled(SmbaseBlackhole, locked, "F_SMBASE");
            SetEnabled(SmbaseWindow, locked, "F_SMBASE");
        }
    }


    private ulong EcamRead(ulong address, int size)
    {
        (int bus, int devfn, int reg) = DecodeEcam(address);
        return size > 4 ? ulong.MaxValue : RootBus.ReadConfig(bus, devfn, reg, size);
    }

    private void EcamWrite(ulong address, uint value, int size)
    {
        (int bus, int devfn, int reg) = DecodeEcam(address);
        if (size <= 4)
        {
            RootBus.WriteConfig(bus, devfn, reg, value, size);
        }
    }

    private static (int Bus, int Devfn, int Register) DecodeEcam(ulong address)
        => ((int)((address >> 20) & 0xff), (int)((address >> 12) & 0xff), (int)(address & 0xfff));
}
