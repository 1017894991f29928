# Panic Button readiness check for Windows (Windows PowerShell 5.1 or PowerShell 7): will a diagnostic
# interrupt (stop code 0x80) leave a memory dump and restart the instance? Read-only: it reads the
# registry and CIM, and changes nothing.
#
# UNTESTED ON WINDOWS: PowerShell does not run where this project is built and tested, and the sandbox
# does not emulate this script. The output format is readiness.sh's: `<check>=<ok|warn|fail> <detail>`
# lines, then `ready=yes|no` and `reasons=`. NMICrashDump is not checked: Windows Server 2012 and later
# do not need it. The README ("Prepare your instances") lists the same checks.

# --- 1. Environment --------------------------------------------------------------------------------
$ErrorActionPreference = 'Stop'
$Failed = New-Object System.Collections.Generic.List[string]
$CrashControlKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\CrashControl'

function Report([string]$Check, [string]$Status, [string]$Detail) {
    $Detail = $Detail -replace '[\r\n]+', ' '
    Write-Output ('{0}={1} {2}' -f $Check, $Status, $Detail)
    if ($Status -eq 'fail') { $Failed.Add("${Check}: $Detail") }
}
function Size([double]$Bytes) {
    if ($Bytes -ge 1GB) { return '{0:N1} GiB' -f ($Bytes / 1GB) }
    return '{0:N1} MiB' -f ($Bytes / 1MB)
}

$CrashControl = Get-ItemProperty -Path $CrashControlKey -ErrorAction SilentlyContinue
$Computer = Get-CimInstance Win32_ComputerSystem
$Memory = [double]$Computer.TotalPhysicalMemory
$Automatic = [bool]$Computer.AutomaticManagedPagefile

# --- 2. Dump type (CrashDumpEnabled) ---------------------------------------------------------------
# 1 complete, 2 kernel, 3 small (minidump only), 7 automatic (a kernel dump); 0 writes nothing.
$DumpType = if ($CrashControl -and $null -ne $CrashControl.CrashDumpEnabled) { [int]$CrashControl.CrashDumpEnabled } else { 0 }
switch ($DumpType) {
    1 { Report 'crash_dump_enabled' 'ok' 'CrashDumpEnabled = 1 (complete memory dump)' }
    2 { Report 'crash_dump_enabled' 'ok' 'CrashDumpEnabled = 2 (kernel memory dump)' }
    7 { Report 'crash_dump_enabled' 'ok' 'CrashDumpEnabled = 7 (automatic memory dump)' }
    3 { Report 'crash_dump_enabled' 'warn' 'CrashDumpEnabled = 3: only a minidump, too little for kernel analysis' }
    0 { Report 'crash_dump_enabled' 'fail' 'CrashDumpEnabled = 0: Windows writes no dump (set 2, kernel memory dump)' }
    default { Report 'crash_dump_enabled' 'warn' "CrashDumpEnabled = ${DumpType}: not a documented value" }
}

# --- 3. Dump file and the space for it -------------------------------------------------------------
# Windows writes the dump into the page file at the crash and copies it to DumpFile while booting,
# so the DumpFile drive needs room for it: the same rule as Linux (RAM/3 ok, RAM/32 warn, less fail).
$DumpFile = if ($CrashControl -and $CrashControl.DumpFile) { [string]$CrashControl.DumpFile } else { '%SystemRoot%\MEMORY.DMP' }
$DumpPath = [Environment]::ExpandEnvironmentVariables($DumpFile)
$Drive = ([IO.Path]::GetPathRoot($DumpPath)).TrimEnd('\')
$Disk = Get-CimInstance Win32_LogicalDisk -Filter "DeviceID='$Drive'"
if (-not $Disk) {
    Report 'dump_file' 'fail' "DumpFile $DumpPath is on $Drive, which is not a local disk"
} else {
    Report 'dump_file' 'ok' $DumpPath
    $Free = [double]$Disk.FreeSpace
    $Sizes = "$(Size $Free) free on $Drive for $(Size $Memory) of RAM"
    if ($Free * 3 -ge $Memory) { Report 'dump_space' 'ok' $Sizes }
    elseif ($Free * 32 -ge $Memory) { Report 'dump_space' 'warn' "${Sizes}: a typical dump fits, a large one may not" }
    else { Report 'dump_space' 'fail' "${Sizes}: less than 1/32 of RAM, a dump will likely not fit" }
}

# --- 4. Automatic restart (AutoReboot) -------------------------------------------------------------
$AutoReboot = if ($CrashControl -and $null -ne $CrashControl.AutoReboot) { [int]$CrashControl.AutoReboot } else { 1 }
if ($AutoReboot -eq 1) { Report 'auto_reboot' 'ok' 'AutoReboot = 1' }
else { Report 'auto_reboot' 'fail' "AutoReboot = ${AutoReboot}: the instance would stay on the stop screen" }

# --- 5. Page file against memory -------------------------------------------------------------------
# The crash-time dump goes to the page file (or a DedicatedDumpFile). A complete dump needs a page file
# of at least RAM + 1 MB on the boot volume; a kernel dump about a third of RAM; a system-managed page
# file grows to what the dump type needs.
$PageFileBytes = [double](Get-CimInstance Win32_PageFileUsage | Measure-Object -Property AllocatedBaseSize -Sum).Sum * 1MB
$Needed = if ($DumpType -eq 1) { $Memory + 1MB } else { $Memory / 3 }
if ($CrashControl -and $CrashControl.DedicatedDumpFile) {
    Report 'page_file' 'ok' "DedicatedDumpFile $($CrashControl.DedicatedDumpFile) receives the dump"
} elseif ($Automatic -and $DumpType -ne 1) {
    Report 'page_file' 'ok' "system-managed page file ($(Size $PageFileBytes) now)"
} elseif ($PageFileBytes -eq 0) {
    Report 'page_file' 'fail' 'no page file: Windows has nowhere to write the dump at the crash'
} elseif ($PageFileBytes -ge $Needed) {
    Report 'page_file' 'ok' "$(Size $PageFileBytes) of page file for $(Size $Memory) of RAM"
} elseif ($DumpType -eq 1) {
    Report 'page_file' 'fail' "$(Size $PageFileBytes) of page file is less than RAM + 1 MB, which a complete dump needs"
} else {
    Report 'page_file' 'warn' "$(Size $PageFileBytes) of page file is less than a third of RAM: a large kernel dump may not fit"
}

# --- 6. Verdict ------------------------------------------------------------------------------------
if ($Failed.Count -eq 0) { Write-Output 'ready=yes' } else { Write-Output 'ready=no' }
Write-Output ('reasons=' + ($Failed -join '; '))
exit 0
