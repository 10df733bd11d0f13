using Memspace.Machines;
using Memspace.Machines.State;

namespace Memspace.Migration;

/// <summary>Writes the records that follow the RAM: the guest clock, every vCPU, every device, the map digest. The guest is paused.</summary>
internal static class MachineStateWriter
{
    public static void Write(MigrationRecordWriter writer, Machine machine, IVcpuTransfer vcpus, MapDigest digest)
    {
        var b = new PayloadBuilder();
        if (vcpus.SaveClock() is { } clock)
        {
            b.Reset();
            b.Blob(clock);
            writer.Write(MigrationRecordType.Clock, b.Span);
        }
        for (int i = 0; i < vcpus.Count; i++)
        {
            b.Reset();
            b.U32((uint)i).Blob(vcpus.Save(i));
            writer.Write(MigrationRecordType.Vcpu, b.Span);
        }
        foreach (IDeviceState device in machine.StateDevices)
        {
            var fields = new DeviceStateWriter();
            device.SaveState(fields);
            b.Reset();
            b.Str(device.StateName).U32((uint)device.StateVersion).Blob(fields.ToArray());
            writer.Write(MigrationRecordType.Device, b.Span);
        }
        b.Reset();
        digest.WriteTo(b);
        writer.Write(MigrationRecordType.MapDigest, b.Span);
        writer.Write(MigrationRecordType.End, []);
    }
}
