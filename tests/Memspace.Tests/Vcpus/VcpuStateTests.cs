using Memspace.Tests.Support;

namespace Memspace.Tests.Vcpus;

/// <summary>The serialized vCPU state: round trip, and hostile bytes (truncated, flipped, wrong version) refused naming the part.</summary>
public class VcpuStateTests
{
    private static VcpuState Sample() => new("kvm-x86_64", 1,
    [
        new VcpuStatePart("regs", Enumerable.Range(0, 144).Select(i => (byte)i).ToArray()),
        new VcpuStatePart("msrs", [1, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0xbb, 0, 0, 0, 0, 0, 0]),
        new VcpuStatePart("empty", []),
    ]);

    [Fact]
    public void RoundTripKeepsKindIndexAndParts()
    {
        byte[] bytes = Sample().ToArray();
        var stream = new MemoryStream();
        stream.Write(bytes);
        stream.WriteByte(0x77); // what follows the state stays in the stream
        stream.Position = 0;
        VcpuState back = VcpuState.Read(stream);
        Assert.Equal(bytes.Length, stream.Position);
        Assert.Equal("kvm-x86_64", back.Kind);
        Assert.Equal(1, back.Index);
        Assert.Equal(["regs", "msrs", "empty"], back.Parts.Select(p => p.Name));
        Assert.Equal(Sample().Get("regs"), back.Get("regs", 144));
        Assert.Empty(back.Get("empty"));
        Assert.Equal(bytes, back.ToArray());
    }

    [Fact]
    public void EveryTruncationIsRefusedWithAClearError()
    {
        byte[] bytes = Sample().ToArray();
        for (int n = 0; n < bytes.Length; n++)
        {
            var e = Assert.Throws<VcpuStateException>(() => VcpuState.Read(new MemoryStream(bytes, 0, n)));
            Assert.Contains("truncated", e.Message);
        }
        // Cut inside the "regs" data: the error names the part.
        var inRegs = Assert.Throws<VcpuStateException>(() => VcpuState.Read(new MemoryStream(bytes, 0, 60)));
        Assert.Equal("regs", inRegs.Part);
    }

    [Fact]
    public void EveryFlippedByteIsRefused()
    {
        byte[] bytes = Sample().ToArray();
        for (int i = 0; i < bytes.Length; i++)
        {
            byte[] bad = (byte[])bytes.Clone();
            bad[i] ^= 0x01;
            Assert.Throws<VcpuStateException>(() => VcpuState.Read(new MemoryStream(bad)));
        }
    }

    [Fact]
    public void AFlippedDataByteNamesItsPart()
    {
        byte[] bytes = Sample().ToArray();
        int msrs = IndexOf(bytes, "msrs"u8) + 4 + 4 + 16; // name, length, into the data
        bytes[msrs] ^= 0x80;
        var e = Assert.Throws<VcpuStateException>(() => VcpuState.Read(new MemoryStream(bytes)));
        Assert.Equal("msrs", e.Part);
        Assert.Contains("checksum", e.Message);
        Assert.Contains("'msrs'", e.Message);
    }

    [Fact]
    public void WrongVersionAndMagicAreNamed()
    {
        byte[] bytes = Sample().ToArray();
        bytes[8] = 2;
        var e = Assert.Throws<VcpuStateException>(() => VcpuState.Read(new MemoryStream(bytes)));
        Assert.Contains("version 2", e.Message);
        Assert.Null(e.Part);
        bytes = Sample().ToArray();
        bytes[0] = (byte)'X';
        Assert.Contains("magic", Assert.Throws<VcpuStateException>(() => VcpuState.Read(new MemoryStream(bytes))).Message);
    }

    [Fact]
    public void HugeLengthsAreRefusedBeforeAllocating()
    {
        byte[] bytes = Sample().ToArray();
        int length = IndexOf(bytes, "regs"u8) + 4;
        bytes[length + 3] = 0x7f; // 2 GiB-ish
        var e = Assert.Throws<VcpuStateException>(() => VcpuState.Read(new MemoryStream(bytes)));
        Assert.Equal("regs", e.Part);
        Assert.Contains("length", e.Message);
        byte[] count = Sample().ToArray();
        int countAt = 8 + 4 + 1 + "kvm-x86_64".Length + 4;
        count[countAt + 3] = 0xff;
        Assert.Contains("part count", Assert.Throws<VcpuStateException>(() => VcpuState.Read(new MemoryStream(count))).Message);
    }

    [Fact]
    public void RandomBytesNeverEscapeAsAnotherException()
    {
        var rng = new Random(17);
        byte[] good = Sample().ToArray();
        for (int i = 0; i < 2000; i++)
        {
            byte[] bad = (byte[])good.Clone();
            for (int k = 0; k < 1 + rng.Next(4); k++)
            {
                bad[rng.Next(bad.Length)] = (byte)rng.Next(256);
            }
            try
            {
                VcpuState.Read(new MemoryStream(bad, 0, rng.Next(bad.Length + 1)));
            }
            catch (VcpuStateException)
            {
            }
        }
    }

    [Fact]
    public void InvalidPartsAreRefusedWhenBuilt()
    {
        Assert.Equal("a", Assert.Throws<VcpuStateException>(() => new VcpuState("k", 0, [new("a", []), new("a", [])])).Part);
        Assert.Throws<VcpuStateException>(() => new VcpuState("k", 0, [new("bad name", [])]));
        Assert.Throws<VcpuStateException>(() => new VcpuState("k", 0, [new("big", new byte[VcpuState.MaxPartLength + 1])]));
        var s = new VcpuState("k", 0, [new("a", [1, 2])]);
        Assert.Equal("b", Assert.Throws<VcpuStateException>(() => s.Get("b")).Part);
        Assert.Contains("3 expected", Assert.Throws<VcpuStateException>(() => s.Get("a", 3)).Message);
    }

    [Fact]
    public void VcpuWithoutAStateBackendSaysSo()
    {
        using var vcpu = new Vcpu(new ScriptedVcpuBackend(), CreateSpace(), CreateSpace());
        Assert.False(vcpu.CanSaveState);
        Assert.Throws<NotSupportedException>(() => vcpu.SaveState());
    }

    private static AddressSpace CreateSpace()
    {
        var system = new MemorySystem();
        return system.CreateAddressSpace(Memspace.Regions.MemoryRegion.CreateContainer(system, "root", 0x10000), "space");
    }

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle);
}
