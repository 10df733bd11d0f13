using Memspace.Machines;
using Memspace.Machines.State;

namespace Memspace.Tests.Machines;

public class DeviceStateFormatTests
{
    private static byte[] Sample()
    {
        var w = new DeviceStateWriter();
        w.WriteU8("imr", 0xfb);
        w.WriteU16("count", 0x1234);
        w.WriteU32("base", 0xdeadbeef);
        w.WriteU64("addr", 0x1_0000_0000);
        w.WriteI64("delta", -5);
        w.WriteBool("on", true);
        w.WriteBytes("config", [1, 2, 3]);
        return w.ToArray();
    }

    [Fact]
    public void FieldsReadBackAsWritten()
    {
        var r = new DeviceStateReader("dev", 1, Sample());
        Assert.Equal(0xfb, r.ReadU8("imr"));
        Assert.Equal(0x1234, r.ReadU16("count"));
        Assert.Equal(0xdeadbeefu, r.ReadU32("base"));
        Assert.Equal(0x1_0000_0000ul, r.ReadU64("addr"));
        Assert.Equal(-5, r.ReadI64("delta"));
        Assert.True(r.ReadBool("on"));
        Assert.Equal([1, 2, 3], r.ReadBytes("config", 3));
        r.EnsureEnd();
    }

    [Fact]
    public void AWrongNameOrTypeNamesTheDeviceAndTheField()
    {
        var r = new DeviceStateReader("i8259@0x20", 2, Sample());
        DeviceStateException e = Assert.Throws<DeviceStateException>(() => r.ReadU8("irr"));
        Assert.Contains("i8259@0x20", e.Message);
        Assert.Contains("expected field 'irr', found 'imr'", e.Message);
        r = new DeviceStateReader("dev", 1, Sample());
        e = Assert.Throws<DeviceStateException>(() => r.ReadU32("imr"));
        Assert.Contains("saved as U8", e.Message);
    }

    [Fact]
    public void EveryTruncationAndEveryFlippedByteEndsInADeviceStateExceptionOrTheSameValues()
    {
        byte[] full = Sample();
        for (int cut = 0; cut < full.Length; cut++)
        {
            Assert.Throws<DeviceStateException>(() => ReadAll(new DeviceStateReader("dev", 1, full[..cut])));
        }
        var random = new Random(17);
        for (int i = 0; i < 2000; i++)
        {
            byte[] bad = (byte[])full.Clone();
            bad[random.Next(bad.Length)] ^= (byte)(1 << random.Next(8));
            try
            {
                ReadAll(new DeviceStateReader("dev", 1, bad));
            }
            catch (DeviceStateException)
            {
            }
        }
    }

    [Fact]
    public void ALongByteStringIsRefusedByItsLimit()
    {
        var r = new DeviceStateReader("dev", 1, Sample());
        r.ReadU8("imr"); r.ReadU16("count"); r.ReadU32("base"); r.ReadU64("addr"); r.ReadI64("delta"); r.ReadBool("on");
        Assert.Contains("at most 2", Assert.Throws<DeviceStateException>(() => r.ReadBytes("config", 2)).Message);
    }

    [Fact]
    public void LeftoverBytesAreRefused()
    {
        var r = new DeviceStateReader("dev", 1, Sample());
        r.ReadU8("imr");
        Assert.Contains("left after the last field", Assert.Throws<DeviceStateException>(r.EnsureEnd).Message);
    }

    [Fact]
    public void AMachineRefusesTwoDevicesOfOneStateName()
    {
        using Machine m = Machine.Create("microvm", new MachineOptions());
        var d = new Named("x");
        m.RegisterDeviceState(d);
        Assert.Throws<ArgumentException>(() => m.RegisterDeviceState(new Named("x")));
        Assert.Contains(d, m.StateDevices);
    }

    private static void ReadAll(DeviceStateReader r)
    {
        r.ReadU8("imr"); r.ReadU16("count"); r.ReadU32("base"); r.ReadU64("addr"); r.ReadI64("delta"); r.ReadBool("on");
        r.ReadBytes("config", 3);
        r.EnsureEnd();
    }

    private sealed class Named(string name) : IDeviceState
    {
        public string StateName => name;

        public int StateVersion => 1;

        public void SaveState(DeviceStateWriter writer)
        {
        }

        public void LoadState(DeviceStateReader reader) => reader.EnsureEnd();
    }
}
