using System.Buffers.Binary;
using Memspace.Machines;
using Memspace.Machines.Devices;
using Memspace.Machines.State;
using Memspace.Printing;

namespace Memspace.Tests.Machines;

/// <summary>
/// Saved device state is input from elsewhere: every device refuses truncated, altered, renamed or
/// mistyped fields with a <see cref="DeviceStateException"/> and nothing else, and values out of range
/// are refused or masked as the hardware would.
/// </summary>
public class DeviceStateHostileTests
{
    private static readonly MemTxAttrs U = MemTxAttrs.UnspecifiedAttrs;

    private static (X86Machine Target, DeviceStateImage Saved) Prepare(string name)
    {
        var a = (X86Machine)Machine.Create(name, DeviceStateRoundTripTests.Options());
        DeviceStateRoundTripTests.Drive(a);
        DeviceStateImage saved = DeviceStateImage.Save(a);
        a.Dispose();
        return ((X86Machine)Machine.Create(name, DeviceStateRoundTripTests.Options()), saved);
    }

    /// <summary>Loads <paramref name="data"/> into <paramref name="device"/>; returns the exception, which must be a DeviceStateException if any.</summary>
    private static DeviceStateException? TryLoad(Machine m, IDeviceState device, byte[] data, int? version = null)
    {
        try
        {
            using (m.System.Transaction())
            {
                device.LoadState(new DeviceStateReader(device.StateName, version ?? device.StateVersion, data));
            }
            return null;
        }
        catch (DeviceStateException e)
        {
            Assert.Contains(device.StateName, e.Message);
            return e;
        }
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("q35")]
    [InlineData("microvm")]
    public void EveryDeviceRefusesTruncatedRenamedMistypedAndWrongVersionStateWithADeviceStateException(string name)
    {
        (X86Machine m, DeviceStateImage saved) = Prepare(name);
        using (m)
        {
            foreach (IDeviceState device in m.StateDevices)
            {
                byte[] data = saved.Of(device.StateName);
                // Every truncation (sampled in long states): a field goes missing or is cut short.
                for (int cut = 0; cut < data.Length; cut += data.Length > 2048 ? 61 : 1)
                {
                    Assert.NotNull(TryLoad(m, device, data[..cut]));
                }
                // An extra byte after the last field.
                Assert.NotNull(TryLoad(m, device, [.. data, 0]));
                // The first field renamed, then retyped.
                byte[] renamed = (byte[])data.Clone();
                renamed[1] ^= 0x20;
                Assert.Contains("expected field", TryLoad(m, device, renamed)!.Message);
                byte[] retyped = (byte[])data.Clone();
                retyped[1 + data[0]] = (byte)(retyped[1 + data[0]] == (byte)DeviceStateFieldType.U8 ? DeviceStateFieldType.U16 : DeviceStateFieldType.U8);
                Assert.Contains("is saved as", TryLoad(m, device, retyped)!.Message);
                Assert.Contains("version", TryLoad(m, device, data, device.StateVersion + 1)!.Message);
                // The untouched state still loads.
                Assert.Null(TryLoad(m, device, data));
            }
        }
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("q35")]
    public void EveryFlippedByteIsRefusedWithADeviceStateExceptionOrLoadsWithoutBreakingTheMachine(string name)
    {
        (X86Machine m, DeviceStateImage saved) = Prepare(name);
        using (m)
        {
            foreach (IDeviceState device in m.StateDevices)
            {
                byte[] data = saved.Of(device.StateName);
                for (int i = 0; i < data.Length; i += data.Length > 2048 ? 37 : 1)
                {
                    foreach (byte mask in (byte[])[0x01, 0x80, 0xff])
                    {
                        byte[] flipped = (byte[])data.Clone();
                        flipped[i] ^= mask;
                        TryLoad(m, device, flipped); // a DeviceStateException, or accepted: never anything else
                    }
                }
                Assert.Null(TryLoad(m, device, data));
            }
            // Whatever was accepted on the way, the machine still renders and answers.
            Assert.NotEmpty(FlatViewPrinter.ToText(m.System));
            saved.Load(m);
            DeviceStateImage.AssertSame(saved, DeviceStateImage.Save(m));
        }
    }

    private static byte[] WithConfigByte(byte[] state, int register, Func<byte, byte> change)
    {
        // "config" is the first field: length 6, "config", type, u32 length, then the bytes.
        byte[] copy = (byte[])state.Clone();
        Assert.Equal("config", System.Text.Encoding.ASCII.GetString(copy, 1, 6));
        int at = 1 + 6 + 1 + 4 + register;
        copy[at] = change(copy[at]);
        return copy;
    }

    private static byte[] WithConfigDword(byte[] state, int register, uint value)
    {
        byte[] copy = WithConfigByte(state, register, b => b);
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(1 + 6 + 1 + 4 + register), value);
        return copy;
    }

    [Fact]
    public void PciReadOnlyBitsMustBeThisFunctionsAndBarsMaskAsTheHardwareDoes()
    {
        (X86Machine m, DeviceStateImage saved) = Prepare("q35");
        using (m)
        {
            var q35 = (Q35Machine)m;
            IDeviceState ahci = q35.Ahci!;
            byte[] state = saved.Of(ahci.StateName);
            // Another device id: not this function.
            Assert.Contains("read-only", TryLoad(m, ahci, WithConfigByte(state, 0x02, b => (byte)(b ^ 1)))!.Message);
            // BAR 5 below its 4 KiB alignment: the low bits are read-only zeros on this BAR.
            Assert.Contains("0x24", TryLoad(m, ahci, WithConfigDword(state, 0x24, 0xfebff010))!.Message);
            // A command bit the function does not implement.
            Assert.NotNull(TryLoad(m, ahci, WithConfigByte(state, PciIds.Command, b => (byte)(b | 0x10))));
            // BAR 5 over RAM: allowed, as on real hardware; it is mapped in "pci", which RAM hides (PCI sits below RAM).
            Assert.Null(TryLoad(m, ahci, WithConfigDword(state, 0x24, 0x0010_0000)));
            Assert.Equal(0x0010_0000UL, q35.Ahci!.Bars[5]!.Address);
            Assert.Contains("0000000000100000-0000000000100fff (prio 1, i/o): ahci", MtreePrinter.ToText(m.System));
            Assert.Equal(0u, m.Memory.LoadU32Le(0x0010_0004, out _, U));
            Assert.Null(TryLoad(m, ahci, state));
            Assert.Equal(0xfebff000UL, q35.Ahci!.Bars[5]!.Address);
        }
    }

    [Fact]
    public void PamReservedBitsAreMaskedAsTheChipDoes()
    {
        (X86Machine m, DeviceStateImage saved) = Prepare("pc");
        using (m)
        {
            var pc = (PcMachine)m;
            byte[] state = WithConfigByte(saved.Of(pc.I440fx.StateName), I440fxHostBridge.PamRegister, _ => 0xff); // both nibbles 0xf: attribute 3
            Assert.Null(TryLoad(m, pc.I440fx, state));
            Assert.Equal(3, pc.I440fx.Pams[0].Current);
            Assert.True(pc.I440fx.Pams[0].Alias(3).Enabled);
            Assert.Equal(0xffu, pc.I440fx.ReadConfig(I440fxHostBridge.PamRegister, 1));
        }
    }

    [Fact]
    public void MchLockMasksMustBeOnesTheChipCanReach()
    {
        (X86Machine m, DeviceStateImage saved) = Prepare("q35");
        using (m)
        {
            MchHostBridge mch = ((Q35Machine)m).Mch;
            byte[] state = saved.Of(mch.StateName);
            int at = IndexOfField(state, "wmask_smram");
            byte[] bad = (byte[])state.Clone();
            bad[at] = 0x7f;
            Assert.Contains("write masks", TryLoad(m, mch, bad)!.Message);
            at = IndexOfField(state, "wmask_f_smbase");
            bad = (byte[])state.Clone();
            bad[at] = 0x01;
            Assert.Contains("F_SMBASE", TryLoad(m, mch, bad)!.Message);
        }
    }

    /// <summary>Offset of the value of field <paramref name="name"/> in a saved state.</summary>
    internal static int IndexOfField(byte[] state, string name)
    {
        byte[] key = [(byte)name.Length, .. System.Text.Encoding.ASCII.GetBytes(name)];
        int i = state.AsSpan().IndexOf(key);
        Assert.True(i >= 0, $"no field '{name}'");
        return i + key.Length + 1;
    }

    [Fact]
    public void RtcIndexKeepsItsNmiBitAndSelectsModulo128AndRegisterDIsReadOnly()
    {
        (X86Machine m, DeviceStateImage saved) = Prepare("pc");
        using (m)
        {
            Mc146818Rtc rtc = m.Platform!.Rtc;
            byte[] state = (byte[])saved.Of(rtc.StateName).Clone();
            state[IndexOfField(state, "index")] = 0xff;
            Assert.Null(TryLoad(m, rtc, state));
            Assert.True(rtc.NmiMasked);
            Assert.Equal(rtc[0x7f], DeviceStateRoundTripTests.In8(m, 0x71));
            int cmos = IndexOfField(state, "cmos") + 4;
            state[cmos + Mc146818Rtc.RegD] = 0x00;
            Assert.Contains("register D", TryLoad(m, rtc, state)!.Message);
        }
    }

    [Fact]
    public void FwCfgRefusesAnOffsetPastTheItem()
    {
        (X86Machine m, DeviceStateImage saved) = Prepare("q35");
        using (m)
        {
            FwCfg fw = m.Platform!.FwCfg;
            byte[] state = (byte[])saved.Of(fw.StateName).Clone();
            BinaryPrimitives.WriteUInt32LittleEndian(state.AsSpan(IndexOfField(state, "cur_offset")), 5); // "QEMU" has 4 bytes
            Assert.Contains("past the end", TryLoad(m, fw, state)!.Message);
        }
    }

    [Fact]
    public void AKernelPicStateIsRefusedByAUserspacePicAndTheOtherWayRound()
    {
        using var user = (X86Machine)Machine.Create("pc", DeviceStateRoundTripTests.Options());
        using var kernel = (X86Machine)Machine.Create("pc", DeviceStateRoundTripTests.Options() with { SimulatedKernelIrqchip = true });
        foreach ((X86Machine from, X86Machine to) in new[] { (user, kernel), (kernel, user) })
        {
            DeviceStateImage saved = DeviceStateImage.Save(from);
            foreach (string dev in (string[])["i8259@0x20", "i8259@0xa0", "ioapic@0xfec00000", "i8254@0x40"])
            {
                IDeviceState target = to.StateDevices.Single(d => d.StateName == dev);
                Assert.Contains("in-kernel", TryLoad(to, target, saved.Of(dev))!.Message);
            }
        }
    }
}
