using System.Globalization;
using System.Text.RegularExpressions;
using Memspace.Kvm;
using Memspace.Tests.Support;

namespace Memspace.Tests.Cli;

/// <summary>The command forms scripts rely on: mtree/ramblock/slots with --machine and -m, explain, run, firmware.</summary>
public partial class MachineCommandTests
{
    [GeneratedRegex(@"^kvm_set_user_memory Slot#\d+ flags=0x[0-9a-f]+ gpa=0x[0-9a-f]+ size=0x[0-9a-f]+ ua=0x[0-9a-f]+ ret=-?\d+$")]
    private static partial Regex TraceLine();

    [Theory]
    [InlineData("q35", "8G")]
    [InlineData("pc", "3584M")]
    [InlineData("microvm", "128M")]
    public void RamblockPrintsWhatQemuPrints(string machine, string size)
    {
        var (code, stdout, stderr) = CliProcess.Run("ramblock", "--machine", machine, "-m", size);
        Assert.True(code == 0, stderr);
        Assert.Equal(QemuCorpus.Read($"x86-{machine}-{size}-nodefaults-S", "ramblock.txt"), stdout);
    }

    [Fact]
    public void MtreeOfAMachineHasTheRamSplitAndKvmMarkers()
    {
        var (code, stdout, stderr) = CliProcess.Run("mtree", "-M", "pc", "-m", "4G", "-f");
        Assert.True(code == 0, stderr);
        Assert.Contains("  0000000100000000-000000013fffffff (prio 0, ram): pc.ram @00000000c0000000 KVM", stdout, StringComparison.Ordinal);
        (code, stdout, _) = CliProcess.Run("mtree", "-M", "pc", "-m", "4G", "-D");
        Assert.Equal(0, code);
        Assert.Contains("alias ram-above-4g @pc.ram 00000000c0000000-00000000ffffffff", stdout, StringComparison.Ordinal);
        Assert.Contains("alias pam-rom @pc.ram 00000000000f0000-00000000000fffff [disabled]", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void SlotsPrintsQemusTraceFormatAndSaysWhenSimulated()
    {
        var (code, stdout, stderr) = CliProcess.Run("slots", "--machine", "q35", "-m", "512");
        Assert.True(code == 0, stderr);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Matches(TraceLine(), l));
        Assert.All(lines, l => Assert.EndsWith("ret=0", l));
        Assert.Contains(lines, l => l.Contains("flags=0x2 gpa=0xfffc0000 size=0x40000", StringComparison.Ordinal));
        if (KvmVm.IsAvailable(out _))
        {
            Assert.DoesNotContain("simulated", stderr, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("no KVM here", stderr, StringComparison.Ordinal);
            Assert.Contains("simulated VM", stderr, StringComparison.Ordinal);
        }
        (code, stdout, _) = CliProcess.Run("slots", "--machine", "q35", "-m", "512", "--table", "--simulate");
        Assert.Equal(0, code);
        Assert.Matches(@"\n\s+\d+\s+0\s+\[0x0000fffc0000, 0x000100000000\)\s+0x40000\s+READONLY\s+0x[0-9a-f]+\s+'pc.bios' \+0x0", stdout);
        Assert.Matches(@"\n\s+65536\s+1\s+\[0x000000000000, ", stdout);
    }

    [Theory]
    [InlineData(new[] { "slots", "-M", "q35", "-m", "12X" }, "bad -m size")]
    [InlineData(new[] { "slots", "-M", "virt" }, "unknown machine 'virt'")]
    [InlineData(new[] { "slots" }, "--machine is required")]
    [InlineData(new[] { "ramblock", "-M", "pc", "-m", "512K" }, "at least 1 MiB")]
    [InlineData(new[] { "explain", "0xzz" }, "bad address '0xzz'")]
    [InlineData(new[] { "explain", "0x0", "--as", "nope" }, "no address space \"nope\"")]
    [InlineData(new[] { "run", "--firmware", "/nonexistent/bios.bin" }, "cannot read firmware")]
    [InlineData(new[] { "mtree", "-M", "pc", "--import", "x.txt" }, "either --machine or --import")]
    public void BadArgumentsGetAClearError(string[] args, string message)
    {
        var (code, _, stderr) = CliProcess.Run(args);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ExplainShowsThePathTheBlockAndTheSlot()
    {
        var (code, stdout, stderr) = CliProcess.Run("explain", "0xf0010", "--machine", "q35");
        Assert.True(code == 0, stderr);
        Assert.Contains("FlatRange            [0xe0000, 0x100000) rom 'pc.bios' @0x20000", stdout, StringComparison.Ordinal);
        Assert.Matches(@"isa-bios \(alias, prio 1, read-only\)\s+\+0x10010  path: alias -> 'pc.bios' \+0x30010", stdout);
        Assert.Matches(@"pc.bios \(rom\)\s+\+0x30010  SERVES", stdout);
        Assert.Contains("RAMBlock             'pc.bios' at ram_addr 0x20000000, offset 0x30010: ram_addr 0x20030010, host 0x", stdout, StringComparison.Ordinal);
        Assert.Matches(@"KVMSlot              Slot#\d+ \[0xe0000, 0x100000\) READONLY", stdout);
    }

    [Fact]
    public void ExplainWorksOnAnImportedDump()
    {
        string dump = Path.Combine(QemuCorpus.Root, "x86-q35-512M-nodefaults-run", "mtree-D.txt");
        var (code, stdout, stderr) = CliProcess.Run("explain", "0xf0010", "--import", dump, "--terminating", "io", "--readonly", "pam-rom");
        Assert.True(code == 0, stderr);
        Assert.Contains("FlatRange            [0xf0000, 0x100000) rom 'pc.ram' @0xf0000", stdout, StringComparison.Ordinal);
        Assert.Matches(@"pam-rom \(alias, prio 1, read-only\)\s+\+0x10  path: alias -> 'pc.ram' \+0xf0010", stdout);
        Assert.Contains("no host memory (imported map)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void FirmwareWritesTheDemoGuest()
    {
        string file = Path.Combine(Path.GetTempPath(), $"memspace-fw-{Guid.NewGuid():n}.bin");
        try
        {
            var (code, stdout, stderr) = CliProcess.Run("firmware", "-o", file, "--size", "64K");
            Assert.True(code == 0, stderr);
            Assert.Contains("qemu-system-x86_64", stdout, StringComparison.Ordinal);
            Assert.Equal(65536, new FileInfo(file).Length);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void RunWithoutKvmDoesEverythingButTheGuestAndSaysWhy()
    {
        // A device that does not exist stands for a host without KVM, so this runs on every host.
        var (code, stdout, stderr) = CliProcess.Run("run", "--accel", "kvm", "--kvm-device", "/nonexistent/kvm");
        Assert.True(code == 0, stderr);
        Assert.StartsWith("== q35 (Standard PC (Q35 + ICH9, 2009)), 512M RAM, on a SIMULATED KVM VM", stdout, StringComparison.Ordinal);
        Assert.Contains("guest: not run: /nonexistent/kvm does not exist", stdout, StringComparison.Ordinal);
        string[] sections = ["== Summary: when were the KVM slots registered, and by what?", "== Region tree (info mtree)", "== Flat views (info mtree -f)",
                             "== RAMList (info ramblock)", "== KVM slots", "== Timeline ("];
        Assert.Equal(sections.Select(t => stdout.IndexOf(t, StringComparison.Ordinal)).Order(), sections.Select(t => stdout.IndexOf(t, StringComparison.Ordinal)));
        Assert.DoesNotContain(-1, sections.Select(t => stdout.IndexOf(t, StringComparison.Ordinal)));

        // The summary answers the seed question from this run.
        string summary = stdout[stdout.IndexOf("== Summary", StringComparison.Ordinal)..stdout.IndexOf("== Region tree", StringComparison.Ordinal)];
        Assert.Matches(@"  - Listeners first: the accelerator's init \(event #\d+\) registered its MemoryListeners when the views held ""memory"": 0 RAM-backed of 0 sections.* so 0 slots existed", summary);
        Assert.Matches(@"  - First slot: commit #\d+ during board init, when the board mapped 'ram-below-4g' \(memory_region_add_subregion 'ram-below-4g' into 'system' at 0x0\): region_add \[0x0, 0x20000000\) ram 'pc.ram' in ""memory"" -> kvm_set_user_memory Slot#0 ", summary);
        Match total = Regex.Match(summary, @"  - (\d+) KVM_SET_USER_MEMORY_REGION calls in all: (\d+) by the board \(board init \d+, machine init done \d+, reset \d+\), 0 by the guest\.");
        Assert.True(total.Success, summary);
        Assert.Equal(total.Groups[1].Value, total.Groups[2].Value);
        Assert.Contains("  - Guest exits: none, the guest did not run.", summary, StringComparison.Ordinal);

        // The default output names each structure of the question, and explains each section.
        foreach (string name in new[] { "MemoryRegion", "AddressSpace", "FlatView", "FlatRange", "MemoryRegionSection", "RAMList", "RAMBlock", "KVMSlot", "kvm_userspace_memory_region" })
        {
            Assert.Contains(name, stdout, StringComparison.Ordinal);
        }
        Assert.Contains("\n   MemoryRegion: the regions the board built", stdout, StringComparison.Ordinal);
        Assert.Contains("\n   KVMSlot: what the kvm-memory listeners made of the RAM-backed MemoryRegionSections", stdout, StringComparison.Ordinal);

        // Folded by default; --timeline prints every event, one line each, and the ioctl count agrees with the summary.
        Match header = Regex.Match(stdout, @"== Timeline \((\d+) events folded into (\d+) lines; --timeline prints each\)");
        Assert.True(header.Success);
        int events = int.Parse(header.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(int.Parse(header.Groups[2].Value, CultureInfo.InvariantCulture) * 2 < events);
        Assert.Contains("memory_region_set_enabled 'pam-pci' on (x13)", stdout, StringComparison.Ordinal);
        var (fullCode, full, _) = CliProcess.Run("run", "--accel", "kvm", "--kvm-device", "/nonexistent/kvm", "--timeline");
        Assert.Equal(0, fullCode);
        string timeline = full[full.IndexOf("== Timeline", StringComparison.Ordinal)..];
        string[] lines = timeline.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"== Timeline ({events} events)", lines[0]);
        Assert.Equal(events, lines.Count(l => Regex.IsMatch(l, @"^\s+\d+\s+\d+\.\d{3} ms  ")));
        Assert.Equal(int.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture), lines.Count(l => l.Contains(" kvm_set_user_memory Slot#", StringComparison.Ordinal)));
        Assert.True(full.Split('\n').Length > stdout.Split('\n').Length + events / 2);
    }

    [Theory]
    [MemberData(nameof(KvmGuest.Accelerators), MemberType = typeof(KvmGuest))]
    public void RunBootsTheGuest(string accelerator)
    {
        KvmGuest.Require(accelerator);
        var (code, stdout, stderr) = CliProcess.Run("run", "--accel", accelerator, "--timeout", "100");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains(accelerator == "kvm" ? "on KVM (/dev/kvm)" : "on Unicorn (libunicorn2", stdout, StringComparison.Ordinal);
        Assert.Contains("guest| memspace-demo: RAM ok", stdout, StringComparison.Ordinal);
        Assert.Contains("guest| memspace-demo: ROM write ignored, pc.bios still holds 0x4d454d53", stdout, StringComparison.Ordinal);
        Assert.Contains("guest| memspace-demo: MMIO demo device id 0x4350534d", stdout, StringComparison.Ordinal);
        Assert.Contains("guest| memspace-demo: MMIO scratch reads back 0xcafef00d", stdout, StringComparison.Ordinal);
        Assert.Contains("guest| memspace-demo: PCI 00:00.0 id 0x29c08086", stdout, StringComparison.Ordinal);
        Assert.Contains("guest| memspace-demo: PAM shadowed the BIOS at 0xf0000 read-only, write ignored, holds 0x4d454d53", stdout, StringComparison.Ordinal);
        Assert.Contains("guest| memspace-demo: done", stdout, StringComparison.Ordinal);
        Assert.Contains("guest: Halted", stdout, StringComparison.Ordinal);
        // The timeline has the exits and the map changes the guest's PAM writes caused while it ran.
        Assert.Contains("KVM_EXIT_MMIO read 0xfe000000 len 4 data 0x4350534d", stdout, StringComparison.Ordinal);
        Assert.Matches(@"KVM_EXIT_IO out port 0x3f8 x\d+ \[AS ""I/O"" -> 'serial'\]: ""memspace-demo: protected mode", stdout);
        string afterPam = stdout[stdout.IndexOf("PAM register 0x90 = 0x30", StringComparison.Ordinal)..];
        Assert.Contains(accelerator == "kvm" ? "kvm_set_user_memory" : "uc_mem_map_ptr gpa=0xf0000 size=0x10000 perms=0x7", afterPam, StringComparison.Ordinal);
        Assert.Contains(accelerator == "kvm" ? "== KVM slots" : "== Unicorn memory map", stdout, StringComparison.Ordinal);
        if (accelerator == "kvm")
        {
            // The summary names the guest's PAM writes as the exits that changed slots.
            string summary = stdout[stdout.IndexOf("== Summary", StringComparison.Ordinal)..stdout.IndexOf("== Region tree", StringComparison.Ordinal)];
            Assert.Matches(@"  - Guest exits: \d+ \(.*\); [1-9]\d* of them changed slots:", summary);
            Assert.Matches(@"    event #\d+ KVM_EXIT_IO out port 0xcfc size 1 data 0x30 .* => mch: PAM register 0x90 = 0x30: .* => [1-9]\d* KVM_SET_USER_MEMORY_REGION call", summary);
            Assert.Matches(@"[1-9]\d* by the guest\.", summary);
        }
    }
}
