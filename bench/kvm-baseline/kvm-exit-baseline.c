/*
 * The floor for a userspace VMM's exit round trip: a real-mode guest loops on
 * "out dx, al; jmp" (port 0x80) or "mov [bx], al; jmp" (MMIO), and this program
 * does nothing but KVM_RUN and count the exits. Memspace's KvmExitBenchmarks
 * report their exits per second as a ratio to this.
 *
 *   cc -O2 -o kvm-exit-baseline kvm-exit-baseline.c && ./kvm-exit-baseline [pio|mmio] [exits]
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(1); }

int main(int argc, char **argv)
{
    int mmio = argc > 1 && strcmp(argv[1], "mmio") == 0;
    long exits = argc > 2 ? atol(argv[2]) : 200000;
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) die("open /dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) die("KVM_CREATE_VM");
    ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL);
    unsigned char *ram = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    /* pio: mov dx,0x80; l: out dx,al; jmp l     mmio: mov bx,0x8000; mov ds,bx... use 0x10000 (no slot there) */
    const unsigned char pio[] = { 0xba, 0x80, 0x00, 0xee, 0xeb, 0xfd };
    const unsigned char mm[] = { 0xb8, 0x00, 0x10, 0x8e, 0xd8, 0xbb, 0x00, 0x00, 0x88, 0x07, 0xeb, 0xfc };
    memcpy(ram + 0x1000, mmio ? mm : pio, mmio ? sizeof mm : sizeof pio);
    struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0, .memory_size = 0x10000, .userspace_addr = (unsigned long)ram };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) die("KVM_CREATE_VCPU");
    int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    struct kvm_sregs sregs;
    ioctl(vcpu, KVM_GET_SREGS, &sregs);
    sregs.cs.base = 0; sregs.cs.selector = 0;
    ioctl(vcpu, KVM_SET_SREGS, &sregs);
    struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
    ioctl(vcpu, KVM_SET_REGS, &regs);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < exits; i++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
        if (run->exit_reason != (mmio ? KVM_EXIT_MMIO : KVM_EXIT_IO)) {
            fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s exits: %ld in %.3f s = %.0f exits/s (%.0f ns each)\n", mmio ? "mmio" : "pio", exits, s, exits / s, s * 1e9 / exits);
    return 0;
}
