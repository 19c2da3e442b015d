//! The loader boot2 enters at reset: it copies the agent's image from flash
//! into SRAM, with a copy of boot2 next to it, and starts the agent there
//! (link-ram.x lays both out and says why).
//!
//! It runs from XIP before anything is set up, so it is plain Thumb-1 with
//! no stack: four words a copy, then VTOR, the stack pointer and the reset
//! vector from the image's own vector table.

core::arch::global_asm!(
    ".section .loader.vectors, \"a\"",
    ".global __ota_loader_vectors",
    "__ota_loader_vectors:",
    ".word _stack_start",
    ".word __ota_loader",
    ".section .loader.text, \"ax\"",
    ".global __ota_loader",
    ".type __ota_loader, %function",
    ".thumb_func",
    "__ota_loader:",
    "ldr r0, =__image_load",
    "ldr r1, =__image_start",
    "ldr r2, =__image_end",
    "bl 5f",
    "ldr r0, =0x10000000",
    "ldr r1, =__boot2_copy",
    "ldr r2, =__boot2_copy_end",
    "bl 5f",
    "ldr r0, =__vector_table",
    "ldr r1, =0xE000ED08",
    "str r0, [r1]",
    "ldr r1, [r0]",
    "msr msp, r1",
    "ldr r1, [r0, #4]",
    "bx r1",
    // Copies [r1, r2) from r0 on, 16 bytes at a time; both ends are 16-aligned.
    "5:",
    "cmp r1, r2",
    "bhs 6f",
    "ldmia r0!, {{r3, r4, r5, r6}}",
    "stmia r1!, {{r3, r4, r5, r6}}",
    "b 5b",
    "6:",
    "bx lr",
    ".ltorg",
);
