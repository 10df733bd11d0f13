using Memspace.Machines;
using Memspace.Machines.Guests;
using Memspace.Machines.State;

namespace Memspace.Tests.Machines;

/// <summary>
/// The writing guest's verifier and pacing device without KVM: RAM written the way the guest writes it
/// (simulated here on a machine with a simulated VM), then corrupted in the ways a migration could.
/// </summary>
public class DirtyGuestVerifierTests
{
    private const ulong Pages = 64;

    private static Machine NewMachine() => Machine.Create("microvm", new MachineOptions { RamSize = 16UL << 20 });

    /// <summary>Does what the guest does for <paramref name="writes"/> writes, and stores its counters.</summary>
    private static void Simulate(Machine m, ulong writes)
    {
        ulong sum = 0, i = 0, c = 1;
        byte[] page = new byte[DirtyGuestLayout.PageSize];
        for (ulong w = 0; w < writes; w++)
        {
            ulong p = DirtyGuestLayout.Pattern(i, c);
            for (int q = 0; q < page.Length; q += 8)
            {
                BitConverter.TryWriteBytes(page.AsSpan(q), p);
            }
            BitConverter.TryWriteBytes(page.AsSpan(0), c);
            BitConverter.TryWriteBytes(page.AsSpan(8), i);
            m.Memory.Write(DirtyGuestLayout.RegionBase + (i * DirtyGuestLayout.PageSize), page);
            sum = DirtyGuestLayout.NextChecksum(sum, p);
            if (++i == Pages)
            {
                i = 0;
                c++;
            }
        }
        byte[] control = new byte[48];
        BitConverter.TryWriteBytes(control.AsSpan(DirtyGuestLayout.ControlMagic), DirtyGuestLayout.ControlMagicValue);
        BitConverter.TryWriteBytes(control.AsSpan(DirtyGuestLayout.ControlWrites), writes);
        BitConverter.TryWriteBytes(control.AsSpan(DirtyGuestLayout.ControlChecksum), sum);
        BitConverter.TryWriteBytes(control.AsSpan(DirtyGuestLayout.ControlNextPage), i);
        BitConverter.TryWriteBytes(control.AsSpan(DirtyGuestLayout.ControlNextCount), c);
        BitConverter.TryWriteBytes(control.AsSpan(DirtyGuestLayout.ControlBadPage), ulong.MaxValue);
        m.Memory.Write(DirtyGuestLayout.ControlPage, control);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    [InlineData(63UL)]
    [InlineData(64UL)]
    [InlineData(1000UL)]
    public void WhatTheGuestWritesVerifies(ulong writes)
    {
        using Machine m = NewMachine();
        Simulate(m, writes);
        DirtyVerification v = DirtyVerifier.Verify(m.Memory, Pages);
        Assert.True(v.Ok, v.Problem);
        Assert.Equal($"VERIFY ok=True writes={writes} pages={Pages}", v.ToString()[..$"VERIFY ok=True writes={writes} pages={Pages}".Length]);
    }

    [Fact]
    public void AGuestThatNeverRanIsSaidSo()
    {
        using Machine m = NewMachine();
        DirtyVerification v = DirtyVerifier.Verify(m.Memory, Pages);
        Assert.False(v.Ok);
        Assert.Contains("did not reach ring 3", v.Problem);
    }

    [Fact]
    public void ALostWriteIsNamed()
    {
        using Machine m = NewMachine();
        Simulate(m, 200);
        byte[] page = new byte[DirtyGuestLayout.PageSize];
        // Page 5 as it was one visit earlier (a migration that missed its last dirtying).
        for (int q = 0; q < page.Length; q += 8)
        {
            BitConverter.TryWriteBytes(page.AsSpan(q), DirtyGuestLayout.Pattern(5, 3));
        }
        BitConverter.TryWriteBytes(page.AsSpan(0), 3UL);
        BitConverter.TryWriteBytes(page.AsSpan(8), 5UL);
        m.Memory.Write(DirtyGuestLayout.RegionBase + (5 * DirtyGuestLayout.PageSize), page);
        DirtyVerification v = DirtyVerifier.Verify(m.Memory, Pages);
        Assert.False(v.Ok);
        Assert.Equal(5UL, v.FirstBadPage);
        Assert.Contains("lost", v.Problem);
    }

    [Fact]
    public void ACorruptedByteAndAWrongChecksumAreNamed()
    {
        using Machine m = NewMachine();
        Simulate(m, 100);
        m.Memory.Write(DirtyGuestLayout.RegionBase + (40 * DirtyGuestLayout.PageSize) + 0xabc, [0x42]);
        DirtyVerification v = DirtyVerifier.Verify(m.Memory, Pages);
        Assert.Equal(40UL, v.FirstBadPage);
        Assert.Contains("offset 0xab8", v.Problem);
        Simulate(m, 100);
        Assert.Contains("checksum", DirtyVerifier.Verify(m.Memory, Pages, 100, 12345).Problem);
        Assert.Contains("control page", DirtyVerifier.Verify(m.Memory, Pages, 101, 12345).Problem);
    }

    [Fact]
    public void APageHalfFilledIsAcceptedOnlyWhenPaused()
    {
        using Machine m = NewMachine();
        Simulate(m, 130);
        // The next write (page 2, visit 3) stopped after 100 qwords of its fill.
        ulong address = DirtyGuestLayout.RegionBase + (2 * DirtyGuestLayout.PageSize);
        for (int q = 0; q < 100; q++)
        {
            m.Memory.Write(address + (ulong)(q * 8), BitConverter.GetBytes(DirtyGuestLayout.Pattern(2, 3)));
        }
        Assert.True(DirtyVerifier.Verify(m.Memory, Pages, paused: true).Ok);
        DirtyVerification strict = DirtyVerifier.Verify(m.Memory, Pages);
        Assert.False(strict.Ok);
        Assert.Equal(2UL, strict.FirstBadPage);
        // A qword of the old visit before the fill's front is not a fill.
        m.Memory.Write(address + (50 * 8), BitConverter.GetBytes(DirtyGuestLayout.Pattern(2, 2)));
        Assert.False(DirtyVerifier.Verify(m.Memory, Pages, paused: true).Ok);
    }

    [Fact]
    public void ThePacerStateRoundTripsAndRefusesNonsense()
    {
        using Machine m = NewMachine();
        DirtyPacer pacer = DirtyPacer.Attach(m, 1234);
        pacer.RequestStop();
        var w = new DeviceStateWriter();
        pacer.SaveState(w);
        using Machine other = NewMachine();
        DirtyPacer copy = DirtyPacer.Attach(other, 0);
        copy.LoadState(new DeviceStateReader(copy.StateName, copy.StateVersion, w.ToArray()));
        Assert.Equal(1234, copy.Rate);
        Assert.Contains(other.StateDevices, d => d.StateName == "dirty-pacer@0x5e0");
        Assert.Equal(1u, other.Io.LoadU32Le(DirtyGuestLayout.PortCommand, out _, MemTxAttrs.UnspecifiedAttrs));
        Assert.Equal(DirtyGuestLayout.Id, other.Io.LoadU32Le(DirtyGuestLayout.PortId, out _, MemTxAttrs.UnspecifiedAttrs));

        var bad = new DeviceStateWriter();
        bad.WriteU64("rate_bits", BitConverter.DoubleToUInt64Bits(double.NaN));
        bad.WriteU64("allowed_bits", 0);
        bad.WriteBool("stop_requested", false);
        bad.WriteU32("status", 0);
        bad.WriteU64("writes", 0);
        bad.WriteU64("checksum", 0);
        bad.WriteU64("reports", 0);
        Assert.Contains("rate_bits", Assert.Throws<DeviceStateException>(() => copy.LoadState(new DeviceStateReader(copy.StateName, 1, bad.ToArray()))).Message);
        Assert.Throws<DeviceStateException>(() => copy.LoadState(new DeviceStateReader(copy.StateName, 1, w.ToArray()[..20])));
        Assert.Throws<DeviceStateException>(() => copy.LoadState(new DeviceStateReader(copy.StateName, 2, w.ToArray())));
    }

    [Fact]
    public void TheImageHasTheResetVectorAndRefusesBadSizes()
    {
        byte[] image = DirtyGuest.Build(64UL << 20, 64 * 1024);
        Assert.Equal(64 * 1024, image.Length);
        Assert.Equal([0xe9, 0x0d, 0x00], image[0xfff0..0xfff3]);
        Assert.Throws<ArgumentOutOfRangeException>(() => DirtyGuest.Build(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => DirtyGuest.Build(4097));
        Assert.Throws<ArgumentOutOfRangeException>(() => DirtyGuest.Build(DirtyGuest.MaxRegionBytes + 4096));
        Assert.Equal(47 + (4 * 33), DirtyGuest.PrologueInstructions(64UL << 20));
    }
}
