using System.Diagnostics;
using Memspace.Machines;
using Memspace.Machines.Devices;
using Memspace.Machines.State;
using Memspace.Printing;

namespace Memspace.Tests.Machines;

/// <summary>
/// Every device's state of pc, q35 and microvm, driven by a guest's port and MMIO writes into a
/// non-reset state (SeaBIOS's configuration replay plus PIC, PIT, RTC, UART, fw_cfg, ... programming),
/// saved, and loaded into an identically built machine in one transaction: the destination's memory
/// map, flat views and KVM slots equal the source's, it saves the same bytes, and its registers read
/// back through its ports.
/// </summary>
public class DeviceStateRoundTripTests(ITestOutputHelper output)
{
    private static readonly MemTxAttrs U = MemTxAttrs.UnspecifiedAttrs;

    /// <summary>A clock that stands still, so that timers save the same value on both machines.</summary>
    internal static MachineOptions Options(bool debugConsole = true) => new() { DeviceClock = () => 1_000_000_000_000, DebugConsole = debugConsole };

    internal static void Out8(Machine m, ushort port, byte value) => Assert.Equal(MemTxResult.Ok, m.Io.StoreU8(port, value, U));

    internal static byte In8(Machine m, ushort port)
    {
        byte v = m.Io.LoadU8(port, out MemTxResult r, U);
        Assert.Equal(MemTxResult.Ok, r);
        return v;
    }

    private static void Mmio32(Machine m, ulong address, uint value) => Assert.Equal(MemTxResult.Ok, m.Memory.StoreU32Le(address, value, U));

    private static uint MmioRead32(Machine m, ulong address)
    {
        uint v = m.Memory.LoadU32Le(address, out MemTxResult r, U);
        Assert.Equal(MemTxResult.Ok, r);
        return v;
    }

    /// <summary>What firmware and an OS leave behind: SeaBIOS's configuration writes, SMRAM/TSEG, and the ISA devices programmed.</summary>
    internal static void Drive(X86Machine m)
    {
        if (m is PcMachine or Q35Machine)
        {
            SeaBiosReplay.Apply(m);
            var cfg = new SeaBiosReplay.ConfigPorts(m);
            if (m is PcMachine)
            {
                cfg.Write(0x00, I440fxHostBridge.SmramRegister, 0x0a, 1); // G_SMRAME: SMRAM for SMM code
                Out8(m, 0x3f2, 0x1c); // floppy DOR: motor A on
            }
            else
            {
                cfg.Write(0x00, MchHostBridge.EsmramcRegister, 0x03, 1); // TSEG 2 MiB, enabled
                cfg.Write(0x00, MchHostBridge.FSmbaseRegister, 0xff, 1); // query SMRAM at SMBASE
                cfg.Write(0x00, MchHostBridge.FSmbaseRegister, 0x02, 1); // and lock it
                cfg.Write(0x00, MchHostBridge.SmramRegister, 0x1a, 1); // G_SMRAME | D_LCK: SMRAM locked
                Mmio32(m, 0xfed1c000 + 0x3404, 0x80); // RCRB: HPET configuration
                Mmio32(m, 0xfebff000 + 0x04, 0x02); // AHCI GHC.IE
                Mmio32(m, 0xfebff000 + 0x100 + 0x18, 0x10); // AHCI port 0 PxCMD.FRE
                Out8(m, 0x630, 0x20); // ICH9 SMI_EN
            }
            cfg.Write(0x00, 0x0c, 0x10, 1); // the host bridge's cache line size
            Assert.Equal(MemTxResult.Ok, m.Io.StoreU16Le(0x604, 0x0001, U)); // PM1_CNT.SCI_EN at PMBASE 0x600
            Assert.Equal(MemTxResult.Ok, m.Io.StoreU32Le(0xcf8, 0x8000_0000u | (0x1fu << 11), U)); // a configuration address left behind

            // 8259 pair: ICW1-4 then masks; ELCR for IRQ 3.
            foreach ((ushort port, byte vector, byte cascade, byte mask) in new (ushort, byte, byte, byte)[] { (0x20, 0x08, 0x04, 0xfb), (0xa0, 0x70, 0x02, 0xff) })
            {
                Out8(m, port, 0x11);
                Out8(m, (ushort)(port + 1), vector);
                Out8(m, (ushort)(port + 1), cascade);
                Out8(m, (ushort)(port + 1), 0x01);
                Out8(m, (ushort)(port + 1), mask);
            }
            Out8(m, 0x4d0, 0x08);
            Out8(m, 0x20, 0x0b); // OCW3: read ISR
            // 8254: counter 0 mode 2, 0x2e9c; counter 2 LSB only.
            Out8(m, 0x43, 0x34);
            Out8(m, 0x40, 0x9c);
            Out8(m, 0x40, 0x2e);
            Out8(m, 0x43, 0x96);
            Out8(m, 0x42, 0x33);
            Out8(m, 0x61, 0x03); // gate channel 2, speaker on
            // RTC: NMI masked while writing register B, then a CMOS byte.
            Out8(m, 0x70, 0x8b);
            Out8(m, 0x71, 0x06);
            Out8(m, 0x70, 0x40);
            Out8(m, 0x71, 0x5a);
            // 8042: a self test left unread, the command byte rewritten.
            Out8(m, 0x64, 0x60);
            Out8(m, 0x60, 0x47);
            Out8(m, 0x64, 0xaa);
            // DMA: channel 2 mode, address, page; unmask.
            Out8(m, 0x0b, 0x46);
            Out8(m, 0x0c, 0x00);
            Out8(m, 0x04, 0x00);
            Out8(m, 0x04, 0x10);
            Out8(m, 0x81, 0x02);
            Out8(m, 0x0a, 0x02);
            Out8(m, 0x92, 0x02); // A20
            Out8(m, 0x80, 0x42); // POST code
            // fw_cfg: select the signature and read two bytes of it.
            Assert.Equal(MemTxResult.Ok, m.Io.StoreU16Le(0x510, FwCfg.KeySignature, U));
            Assert.Equal((byte)'Q', In8(m, 0x511));
            Assert.Equal((byte)'E', In8(m, 0x511));
            // HPET: counter running (on the stopped clock), timer 0 configured.
            Mmio32(m, 0xfed00100, 0x44);
            Mmio32(m, 0xfed00010, 0x01);
            // IOAPIC: pin 2 to vector 0x30, unmasked.
            Mmio32(m, 0xfec00000, 0x14);
            Mmio32(m, 0xfec00010, 0x30);
            foreach (char c in "SeaBIOS (version")
            {
                Out8(m, 0x402, (byte)c);
            }
        }
        // UART: 115200 8N1, receive interrupts, a scratch byte.
        Out8(m, 0x3fb, 0x80);
        Out8(m, 0x3f8, 0x01);
        Out8(m, 0x3f9, 0x00);
        Out8(m, 0x3fb, 0x03);
        Out8(m, 0x3f9, 0x01);
        Out8(m, 0x3ff, 0x42);
        Mmio32(m, 0xfe000004, 0xcafe);
        Assert.Equal(1u, MmioRead32(m, 0xfe000008));
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("q35")]
    [InlineData("microvm")]
    public void ADrivenMachineMovesToAnIdenticalOneWithItsTopologyAndRegisters(string name)
    {
        using var a = (X86Machine)Machine.Create(name, Options());
        Drive(a);
        var before = DeviceStateImage.Topology(a);
        DeviceStateImage saved = DeviceStateImage.Save(a);

        using var b = (X86Machine)Machine.Create(name, Options());
        if (name != "microvm")
        {
            Assert.NotEqual(before.Flat, DeviceStateImage.Topology(b).Flat); // microvm has no register that moves a region
        }
        saved.Load(b);

        var after = DeviceStateImage.Topology(b);
        Assert.Equal(before.Tree, after.Tree);
        Assert.Equal(before.Flat, after.Flat);
        Assert.Equal(before.Slots, after.Slots);
        DeviceStateImage.AssertSame(saved, DeviceStateImage.Save(b));

        // Registers read back through B's own ports.
        Assert.Equal(0x03, In8(b, 0x3fb));
        Assert.Equal(0x01, In8(b, 0x3f9));
        Assert.Equal(0x42, In8(b, 0x3ff));
        Assert.Equal(2u, MmioRead32(b, 0xfe000008)); // the demo counter continues
        if (name == "microvm")
        {
            return;
        }
        Assert.Equal(0xfb, In8(b, 0x21));
        Assert.Equal(0x08, In8(b, 0x4d0));
        Out8(b, 0x70, 0x40);
        Assert.Equal(0x5a, In8(b, 0x71));
        Assert.Equal((byte)'M', In8(b, 0x511)); // fw_cfg reads on from offset 2
        Assert.Equal(0x55, In8(b, 0x60)); // the self-test answer was still queued
        Assert.Equal(0x02, In8(b, 0x92));
        var cfg = new SeaBiosReplay.ConfigPorts(b);
        X86Machine src = a;
        PciHostBridge bridge = src.HostBridge!;
        foreach (PciDevice f in bridge.RootBus.Functions)
        {
            for (int r = 0; r < 256; r += 4)
            {
                Assert.Equal(f.ReadConfig(r, 4), cfg.Read(f.Devfn, r, 4));
            }
        }
        if (b is Q35Machine q35)
        {
            Assert.True(q35.Mch.TsegBlackhole.Enabled);
            Assert.True(q35.Mch.SmbaseWindow.Enabled);
            Assert.Equal(0x80u, MmioRead32(b, 0xfed1c000 + 0x3404));
            Assert.Equal(0x8000_0002u, MmioRead32(b, 0xfebff000 + 0x04));
            // D_LCK travelled: D_OPEN can no longer be set.
            cfg.Mmconfig = 0xb0000000;
            cfg.Write(0x00, MchHostBridge.SmramRegister, 0x5a, 1);
            Assert.Equal(0x1au, cfg.Read(0x00, MchHostBridge.SmramRegister, 1));
        }
    }

    /// <summary>
    /// The twelve QEMU-recorded SeaBIOS final states (pc and q35, each RAM size, before and after the
    /// firmware ran): the replayed machine's state, loaded into a freshly built one, gives the same
    /// trees, flat views and slots, which FirmwareConformanceTests compares with QEMU's own.
    /// </summary>
    [Theory]
    [MemberData(nameof(FirmwareConformanceTests.Cases), MemberType = typeof(FirmwareConformanceTests))]
    public void SeaBiosFinalStatesMoveWithTheirDeviceState(string caseName)
    {
        using X86Machine a = FirmwareConformanceTests.Build(caseName, qemuSlotFlags: true);
        DeviceStateImage saved = DeviceStateImage.Save(a);
        using var b = (X86Machine)Machine.Create(a.Name, a.Options);
        saved.Load(b);
        Assert.Equal(DeviceStateImage.Topology(a), DeviceStateImage.Topology(b));
        Assert.Equal(MtreePrinter.ToText(a.System), MtreePrinter.ToText(b.System));
    }

    [Fact]
    public void SavingAndLoadingEveryQ35DeviceIsFast()
    {
        using var a = (X86Machine)Machine.Create("q35", Options());
        Drive(a);
        using (var warm = (X86Machine)Machine.Create("q35", Options()))
        {
            DeviceStateImage.Save(a).Load(warm);
        }
        const int rounds = 20;
        var save = new Stopwatch();
        var load = new Stopwatch();
        int bytes = 0;
        for (int i = 0; i < rounds; i++)
        {
            // A fresh destination each round: the load moves PAM, SMRAM, TSEG, PCIEXBAR, RCRB and the BARs, as a migration's does.
            using var b = (X86Machine)Machine.Create("q35", Options());
            save.Start();
            DeviceStateImage image = DeviceStateImage.Save(a);
            save.Stop();
            load.Start();
            image.Load(b);
            load.Stop();
            bytes = image.Devices.Sum(d => d.Data.Length);
        }
        double saveUs = save.Elapsed.TotalMicroseconds / rounds, loadUs = load.Elapsed.TotalMicroseconds / rounds;
        output.WriteLine($"q35: {a.StateDevices.Count} devices, {bytes} bytes of state; save {saveUs:F0} us, load into a fresh machine in one transaction {loadUs:F0} us (mean of {rounds})");
        Assert.True(saveUs + loadUs < 100_000, $"save+load took {saveUs + loadUs:F0} us");
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("q35")]
    [InlineData("microvm")]
    public void EveryDeviceWithRegistersIsRegisteredUnderAUniqueStableName(string name)
    {
        using var a = Machine.Create(name, Options());
        using var b = Machine.Create(name, Options());
        string[] names = [.. a.StateDevices.Select(d => d.StateName)];
        Assert.Equal(names.Length, names.Distinct().Count());
        Assert.Equal(names, b.StateDevices.Select(d => d.StateName));
        Assert.Empty(a.StatelessDevices);
        string[] expected = name switch
        {
            "pc" => ["00:00.0/i440FX", "00:01.0/PIIX3", "00:01.1/piix3-ide", "00:01.3/PIIX4_PM", "i8259@0x20", "i8259@0xa0", "ioapic@0xfec00000",
                "apic-msi@0xfee00000", "hpet@0xfed00000", "mc146818rtc@0x70", "i8254@0x40", "pcspk@0x61", "i8042@0x60", "port92@0x92", "i8257@0x00",
                "i8257@0xc0", "ioport80@0x80", "ioportF0@0xf0", "fw_cfg@0x510", "isa-debugcon@0x402", "isa-fdc@0x3f0", "serial@0x3f8", "memspace-demo@0xfe000000"],
            "q35" => ["00:00.0/mch", "00:1f.0/ICH9-LPC", "00:1f.2/ich9-ahci", "00:1f.3/ICH9-SMB", "i8259@0x20", "i8259@0xa0", "ioapic@0xfec00000",
                "apic-msi@0xfee00000", "hpet@0xfed00000", "mc146818rtc@0x70", "i8254@0x40", "pcspk@0x61", "i8042@0x60", "port92@0x92", "i8257@0x00",
                "i8257@0xc0", "ioport80@0x80", "ioportF0@0xf0", "fw_cfg@0x510", "isa-debugcon@0x402", "serial@0x3f8", "memspace-demo@0xfe000000"],
            _ => ["serial@0x3f8", "memspace-demo@0xfe000000"],
        };
        Assert.Equal(expected, names);
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("microvm")]
    public void OnUnicornTheUserspacePicPairAndTimerAreWhatIsSaved(string name)
    {
        if (!Memspace.Unicorn.UnicornAccelerator.IsAvailable(out string reason))
        {
            Assert.Skip("needs Unicorn: " + reason);
        }
        MachineOptions options = Options() with { Accelerator = MachineAccelerator.Unicorn, RamSize = 64UL << 20 };
        using var a = (X86Machine)Machine.Create(name, options);
        string[] names = [.. a.StateDevices.Select(d => d.StateName)];
        Assert.Contains("i8259@0x20+0xa0", names);
        Assert.Contains("i8254@0x40", names);
        Assert.DoesNotContain("i8259@0x20", names);
        Out8(a, 0x20, 0x11);
        Out8(a, 0x21, 0x20);
        Out8(a, 0x21, 0x04);
        Out8(a, 0x21, 0x01);
        Out8(a, 0x21, 0xfe);
        DeviceStateImage saved = DeviceStateImage.Save(a);
        using var b = (X86Machine)Machine.Create(name, options);
        saved.Load(b);
        Assert.Equal(0xfe, In8(b, 0x21));
        Assert.Equal(DeviceStateImage.Topology(a).Flat, DeviceStateImage.Topology(b).Flat);
    }

    [Fact]
    public void TheDebugConsoleCompletesALineStartedOnTheSource()
    {
        using var a = (X86Machine)Machine.Create("pc", Options());
        Drive(a);
        using var b = (X86Machine)Machine.Create("pc", Options());
        DeviceStateImage.Save(a).Load(b);
        string? line = null;
        b.Platform!.DebugConsole!.LineWritten += l => line = l;
        foreach (char c in " 1.16.2)\n")
        {
            Out8(b, 0x402, (byte)c);
        }
        Assert.Equal("SeaBIOS (version 1.16.2)", line);
    }

    [Fact]
    public void TimersContinueFromTheirSavedValues()
    {
        long now = 5_000_000_000;
        var options = new MachineOptions { DeviceClock = () => now };
        using var a = (X86Machine)Machine.Create("q35", options);
        Drive(a);
        now += 1_000_000; // 1 ms: the HPET counter moves 100000 ticks
        ulong hpetA = a.Memory.LoadU64Le(0xfed000f0, out _, U);
        uint pmA = a.Io.LoadU32Le(0x608, out _, U);
        DeviceStateImage saved = DeviceStateImage.Save(a);
        long later = now + 3_600_000_000_000; // the destination's clock is an hour ahead
        using var b = (X86Machine)Machine.Create("q35", options with { DeviceClock = () => later });
        saved.Load(b);
        Assert.Equal(hpetA, b.Memory.LoadU64Le(0xfed000f0, out _, U));
        Assert.Equal(pmA, b.Io.LoadU32Le(0x608, out _, U));
        Assert.Equal(a.Platform!.Pit.CurrentCount(0), b.Platform!.Pit.CurrentCount(0));
        later += 10_000; // 10 us later on the destination
        Assert.Equal(hpetA + 1000, b.Memory.LoadU64Le(0xfed000f0, out _, U));
    }
}

/// <summary>A new device class cannot silently skip device state.</summary>
public class DeviceStateCoverageTests
{
    /// <summary>Classes with fields that are not registered devices themselves, and who saves them.</summary>
    private static readonly Dictionary<string, string> SavedByOwner = new()
    {
        ["AcpiPmRegisters"] = "Piix4Pm, Ich9Pm",
        ["AcpiGpe"] = "Piix4Pm, Ich9Pm",
        ["AcpiHotplug"] = "Piix4Pm, Ich9Lpc",
        ["TcoRegisters"] = "Ich9Pm",
        ["ApmControl"] = "Piix4Pm, Ich9Lpc",
        ["ResetControl"] = "Piix3, Ich9Lpc",
        ["PmSmbus"] = "Piix4Pm, Ich9Smbus",
        ["IdeChannel"] = "PiixIde",
        ["AhciHba"] = "Ich9Ahci",
        ["Ich9Pm"] = "Ich9Lpc",
        ["Pic8259"] = "Pic8259Pair",
        ["Pam"] = "derived: the host bridge re-applies it from its PAM registers",
        ["PciBar"] = "derived: PciDevice re-maps it from the BAR and command registers",
        ["PciBus"] = "topology: which functions are attached is the build's",
        ["PcPlatform"] = "container of devices",
        ["VmPort"] = "no register: every read answers all ones",
    };

    [Fact]
    public void EveryDeviceClassWithStateImplementsIDeviceStateOrIsSavedByItsOwner()
    {
        Type[] types = typeof(PcPlatform).Assembly.GetTypes();
        var missing = new List<string>();
        var checkedTypes = new List<string>();
        foreach (Type t in types.Where(t => t.Namespace == typeof(PcPlatform).Namespace && t.IsClass && !t.IsAbstract && !t.IsNested
            && !t.Name.StartsWith('<') && !(t.IsSealed && t.IsAbstract)))
        {
            bool hasFields = t.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public)
                .Any(f => !typeof(Delegate).IsAssignableFrom(f.FieldType) && f.FieldType != typeof(Lock));
            checkedTypes.Add(t.Name);
            if (hasFields && !typeof(IDeviceState).IsAssignableFrom(t) && !SavedByOwner.ContainsKey(t.Name))
            {
                missing.Add(t.Name);
            }
        }
        Assert.Contains("Hpet", checkedTypes);
        Assert.Contains("MchHostBridge", checkedTypes);
        Assert.True(missing.Count == 0, $"device classes without saved state: {string.Join(", ", missing)}");
    }
}
