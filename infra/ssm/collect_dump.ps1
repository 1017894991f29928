# Panic Button crash-dump collector for Windows (Windows PowerShell 5.1 or PowerShell 7).
#
# UNTESTED ON WINDOWS: PowerShell does not run where this project is built and tested. Its observable
# contract is exercised through panic_button_sandbox/windows_collector.py, a Python emulation of it.
#
# The SSM document prepends two lines to this file:
#   $PbAction = 'locate|upload'        $PbManifestUrl = '<presigned GET of the manifest>'
# Both values passed an allowedPattern that excludes every kind of quote; nothing here evaluates them.
# Contract: docs/collection-protocol.md. Linux counterpart: collect_dump.sh (same sections, same numbers).

# --- 1. Environment --------------------------------------------------------------------------------
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'   # Invoke-WebRequest's progress display slows uploads badly
[Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12
$Root = $env:PANIC_BUTTON_ROOT              # the sandbox's simulated instance; empty on a real instance
$Mib = 1048576
$PartAttempts = 5
$StartedAt = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
$Utf8 = New-Object Text.UTF8Encoding($false)
$Script:ResultUrl = $null; $Script:LogUrl = $null
$Script:LastStatus = 0; $Script:LastAttempt = 0; $Script:LastResponse = $null

# The manifest key: made by locate, sent to the workflow only in the locate result (S3, never stdout), and
# signed by the workflow into the upload manifest's URL as a header value: the ManifestUrl that
# ListCommands shows is useless without it. SYSTEM and Administrators only, single use (see KEY_FILE in sh).
if ($Root) { $KeyFile = Join-Path $Root 'ProgramData\PanicButton\manifest.key' }
else { $KeyFile = Join-Path $env:ProgramData 'PanicButton\manifest.key' }
$ManifestKeyHeader = 'x-panic-button-manifest-key'

function HostPath([string]$InstancePath) {  # C:\Windows\X is $Root\Windows\X in the sandbox
    if ($Root) { return Join-Path $Root $InstancePath.Substring(3) }
    return $InstancePath
}

# --- 2. Workspace, log, exit handling ---------------------------------------------------------------
function New-PrivateDirectory([string]$Path) {  # SYSTEM and Administrators only (umask 077)
    New-Item -ItemType Directory -Path $Path -Force | Out-Null
    $Acl = Get-Acl $Path
    $Acl.SetAccessRuleProtection($true, $false)
    foreach ($Id in 'NT AUTHORITY\SYSTEM', 'BUILTIN\Administrators') {
        $Acl.AddAccessRule((New-Object Security.AccessControl.FileSystemAccessRule(
            $Id, 'FullControl', 'ContainerInherit,ObjectInherit', 'None', 'Allow')))
    }
    Set-Acl $Path $Acl
}
$Work = Join-Path ([IO.Path]::GetTempPath()) ('panic-button.' + [Guid]::NewGuid().ToString('N'))
New-PrivateDirectory $Work
$LogFile = Join-Path $Work 'log'
$ResultFile = Join-Path $Work 'result'
[IO.File]::WriteAllText($LogFile, '', $Utf8)
[IO.File]::WriteAllText($ResultFile, '', $Utf8)

function Log([string]$Message) {
    $Stamp = [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ')
    [IO.File]::AppendAllText($LogFile, "$Stamp $Message`n", $Utf8)
}
function Emit([string]$Key, [string]$Value) { [IO.File]::AppendAllText($ResultFile, "$Key=$Value`n", $Utf8) }

# Publish the result and the transcript, print the result, and exit (see finish() in the sh script).
function Finish([int]$Rc, [string]$Err) {
    if ($Rc -ne 0) { Emit 'status' 'failed'; Emit 'error' $Err; Log "error: $Err" }
    # The hashes first on stdout, the channel no URL holder can write (see finish() in the sh script).
    foreach ($Name in 'parts_sha256', 'dump_sha256', 'manifest_key_sha256') {
        $Sha = Select-String -Path $ResultFile -Pattern "^$Name=(.+)$" | Select-Object -Last 1
        if ($Sha) { Write-Output "ssm_$Name=$($Sha.Matches[0].Groups[1].Value)" }
    }
    foreach ($Line in [IO.File]::ReadAllLines($ResultFile, $Utf8)) {  # the key itself goes to S3 only
        if (-not $Line.StartsWith('manifest_key=')) { Write-Output $Line }
    }
    if ($Script:ResultUrl) {
        if (PutWithRetry 'result' $Script:ResultUrl $ResultFile -WriteOnce) { Log 'result uploaded' }
        elseif ($Rc -eq 0) { $Rc = 1; $Err = "could not upload the result (HTTP $Script:LastStatus)" }
    }
    if ($Script:LogUrl) { Log "exit $Rc"; [void](PutWithRetry 'log' $Script:LogUrl $LogFile -WriteOnce) }
    if ($Rc -ne 0) { [Console]::Error.WriteLine("collect_dump: $Err") }
    Remove-Item -Recurse -Force -LiteralPath $Work -ErrorAction SilentlyContinue
    exit $Rc
}
function Fail([string]$Err) { Finish 1 $Err }
trap { Fail ('unexpected error: ' + $_.Exception.Message) }

Emit 'protocol' '1'
Emit 'action' $PbAction
Log "collector started: action=$PbAction root=$Root"

# --- 3. HTTP through presigned URLs -----------------------------------------------------------------
function Test-PresignedUrl([string]$Url) {
    return ($Url -cmatch '^(https://|http://127\.0\.0\.1:)[A-Za-z0-9._~%/?&=:-]+$')
}

# PUT a file, retrying with backoff (1, 2, 4, 8 s). 400/403/404 are final: the URL expired or is
# wrong, or S3 refused the bytes (BadDigest). $Checksum: the part's SHA-256 its URL was signed for.
# -WriteOnce: the URL signs If-None-Match: * (result and log); a 412 after a failed attempt means that
# attempt's write arrived and only its answer was lost (see http_with_retry in the sh script).
function PutWithRetry([string]$What, [string]$Url, [string]$File, [string]$Checksum = '', [switch]$WriteOnce) {
    $Headers = @{}
    if ($Checksum) { $Headers['x-amz-checksum-sha256'] = $Checksum }
    if ($WriteOnce) { $Headers['If-None-Match'] = '*' }
    $Delay = 1
    for ($Attempt = 1; $Attempt -le $PartAttempts; $Attempt++) {
        $Script:LastAttempt = $Attempt
        try {
            $Script:LastResponse = Invoke-WebRequest -UseBasicParsing -Method Put -Uri $Url -InFile $File `
                -ContentType 'application/octet-stream' -Headers $Headers -TimeoutSec 900
            $Script:LastStatus = 200
            return $true
        } catch {
            $Script:LastStatus = 0
            if ($_.Exception.Response) { $Script:LastStatus = [int]$_.Exception.Response.StatusCode }
            Log "${What}: attempt $Attempt failed: HTTP $Script:LastStatus $($_.Exception.Message)"
            if (@(400, 403, 404) -contains $Script:LastStatus) { return $false }
            if ($Script:LastStatus -eq 412) { return ($Attempt -gt 1) }
            if ($Attempt -lt $PartAttempts) { Start-Sleep -Seconds $Delay; $Delay *= 2 }
        }
    }
    return $false
}

# --- 4. Manifest --------------------------------------------------------------------------------
if ($PbAction -cnotmatch '^(locate|upload)$') { Fail "unknown action '$PbAction'" }
if (-not (Test-PresignedUrl $PbManifestUrl)) { Fail 'the manifest URL is not a presigned S3 URL' }
$ManifestFile = Join-Path $Work 'manifest'
$ManifestHeaders = @{}
if ($PbAction -eq 'upload') {
    $KeyItem = Get-Item -LiteralPath $KeyFile -Force -ErrorAction SilentlyContinue
    if (-not $KeyItem -or $KeyItem.PSIsContainer -or ($KeyItem.Attributes -band [IO.FileAttributes]::ReparsePoint)) {
        Fail 'no manifest key: locate did not run on this instance'
    }
    $ManifestKey = [IO.File]::ReadAllText($KeyFile, $Utf8).Trim()
    Remove-Item -Force -LiteralPath $KeyFile
    if ($ManifestKey -cnotmatch '^[A-Za-z0-9+/=]+$') { Fail 'the manifest key is damaged' }
    $ManifestHeaders[$ManifestKeyHeader] = $ManifestKey
}
# Retried as PutWithRetry retries: S3 throttles (503 SlowDown) and fails (500) now and then.
$Delay = 1
for ($Attempt = 1; ; $Attempt++) {
    try {
        Invoke-WebRequest -UseBasicParsing -Uri $PbManifestUrl -Headers $ManifestHeaders -OutFile $ManifestFile `
            -TimeoutSec 120
        break
    }
    catch {
        $Status = 0
        if ($_.Exception.Response) { $Status = [int]$_.Exception.Response.StatusCode }
        Log "manifest: attempt $Attempt failed: HTTP $Status $($_.Exception.Message)"
        if ($Status -eq 403 -or $Status -eq 404 -or $Attempt -ge $PartAttempts) {
            Fail "cannot fetch the manifest: $($_.Exception.Message)"
        }
        Start-Sleep -Seconds $Delay; $Delay *= 2
    }
}
$Lines = [IO.File]::ReadAllLines($ManifestFile, $Utf8)
if ($Lines.Count -lt 3 -or $Lines[0] -cne 'panic-button-manifest 1') { Fail 'not a version 1 manifest' }
if ($Lines[-1] -cne 'end') { Fail 'the manifest is truncated' }
$M = @{}
$PartUrls = New-Object Collections.Generic.List[string]
$PartChecksums = New-Object Collections.Generic.List[string]
foreach ($Line in $Lines[1..($Lines.Count - 2)]) {
    $Key, $Value = $Line.Split(' ', 2)
    if ($Key -ceq 'part') {
        $N, $Checksum, $Url = $Value.Split(' ', 3)
        if ([int]$N -ne $PartUrls.Count + 1) { Fail "manifest part lines are out of order at 'part $N'" }
        if ($Checksum -cnotmatch '^[A-Za-z0-9+/]{43}=$') { Fail "part $N has no base64 checksum" }
        $PartUrls.Add($Url)
        $PartChecksums.Add($Checksum)
    } else { $M[$Key] = $Value }
}
if (Test-PresignedUrl $M['result_url']) { $Script:ResultUrl = $M['result_url'] }
else { Fail 'the manifest has no valid result_url' }
if (Test-PresignedUrl $M['log_url']) { $Script:LogUrl = $M['log_url'] }
if ($M['action'] -cne $PbAction) { Fail "the manifest is for '$($M['action'])', not '$PbAction'" }
if ($M['not_before'] -cnotmatch '^[0-9]+$') { Fail 'the manifest has no numeric not_before' }
$NotBefore = [long]$M['not_before']

# --- 5. Locate ------------------------------------------------------------------------------------
# The complete or kernel dump (CrashControl\DumpFile, default %SystemRoot%\MEMORY.DMP) is preferred;
# a minidump (MinidumpDir, default %SystemRoot%\Minidump) is shipped only when no fresh full dump exists.
$Crash = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\CrashControl' -ErrorAction SilentlyContinue
$DumpFile = '%SystemRoot%\MEMORY.DMP'; $MinidumpDir = '%SystemRoot%\Minidump'
if ($Crash -and $Crash.DumpFile) { $DumpFile = $Crash.DumpFile }
if ($Crash -and $Crash.MinidumpDir) { $MinidumpDir = $Crash.MinidumpDir }
$DumpFile = [Environment]::ExpandEnvironmentVariables($DumpFile)
$MinidumpDir = [Environment]::ExpandEnvironmentVariables($MinidumpDir)

$Complete = New-Object Collections.Generic.List[object]
$Incomplete = New-Object Collections.Generic.List[object]
function Add-Candidate([string]$Layout, [string]$InstancePath) {
    $Item = Get-Item -LiteralPath (HostPath $InstancePath) -Force -ErrorAction SilentlyContinue
    if (-not $Item -or $Item.PSIsContainer) { return }
    if ($Item.Attributes -band [IO.FileAttributes]::ReparsePoint) { return }  # a link could point anywhere
    $Found = [pscustomobject]@{ Mtime = [DateTimeOffset]::new($Item.LastWriteTimeUtc).ToUnixTimeSeconds()
        Size = [long]$Item.Length; Layout = $Layout; Path = $InstancePath }
    if ($Found.Size -gt 0) { $Complete.Add($Found) } else { $Incomplete.Add($Found) }
}

Emit 'not_before' $NotBefore
Emit 'scratch_free' (Get-PSDrive -Name $Work.Substring(0, 1)).Free
Emit 'searched' $DumpFile
Emit 'searched' $MinidumpDir
Add-Candidate 'windows-memory' $DumpFile
Get-ChildItem -LiteralPath (HostPath $MinidumpDir) -Filter '*.dmp' -File -Force -ErrorAction SilentlyContinue |
    ForEach-Object { Add-Candidate 'windows-minidump' (Join-Path $MinidumpDir $_.Name) }

$Chosen = $null
$Sorted = @($Complete | Sort-Object @{ Expression = 'Mtime'; Descending = $true }, @{ Expression = 'Path'; Descending = $true })
$Fresh = @($Sorted | Where-Object { $_.Mtime -ge $NotBefore })
$Chosen = $Fresh | Where-Object { $_.Layout -eq 'windows-memory' } | Select-Object -First 1
if (-not $Chosen) { $Chosen = $Fresh | Select-Object -First 1 }
foreach ($F in $Sorted) {
    if ($F.Mtime -lt $NotBefore) { Emit 'older' "$($F.Size) $($F.Mtime) $($F.Path)" }
    elseif ($F -ne $Chosen) { Emit 'other' "$($F.Size) $($F.Mtime) $($F.Path)" }
}
foreach ($F in $Incomplete) { Emit 'incomplete' "$($F.Size) $($F.Mtime) $($F.Path)" }
$Kernel = (Get-CimInstance Win32_OperatingSystem).Version

function Report-Dump {
    Emit 'hostname' $env:COMPUTERNAME
    Emit 'kernel' $Kernel; Emit 'kernel_source' 'os'
    Emit 'layout' $Chosen.Layout; Emit 'dump_path' $Chosen.Path; Emit 'dump_size' $Chosen.Size
    Emit 'dump_mtime' $Chosen.Mtime
}

# --- 5b. Part hashes ------------------------------------------------------------------------------
# As in the sh script: the part size by choose_part_size's rule, each part's SHA-256, and the composite
# S3 computes (SHA-256 of the concatenated binary part digests, base64), printed first on stdout.
$Sha256 = [Security.Cryptography.SHA256]::Create()
function Get-Composite($Digests) {  # list of byte[] digests -> base64 SHA-256 of their concatenation
    $All = New-Object byte[] (32 * $Digests.Count)
    for ($I = 0; $I -lt $Digests.Count; $I++) { [Array]::Copy($Digests[$I], 0, $All, 32 * $I, 32) }
    return [Convert]::ToBase64String($Sha256.ComputeHash($All))
}
function Get-PartSize([long]$Size) {
    if ($M['part_size_min'] -cnotmatch '^[1-9][0-9]*$') { Fail 'the manifest has no numeric part_size_min' }
    $Needed = [long][Math]::Ceiling([Math]::Ceiling($Size / 10000.0) / $Mib) * $Mib
    if ($Needed -lt 5 * $Mib) { $Needed = 5 * $Mib }
    $Chosen = [Math]::Max([long]$M['part_size_min'], $Needed)
    $Free = (Get-PSDrive -Name $Work.Substring(0, 1)).Free
    $Fits = [long][Math]::Floor(($Free - 16 * $Mib) / 2 / $Mib) * $Mib
    if ($Fits -lt $Needed) { Fail "the instance has $([Math]::Floor($Free / $Mib)) MiB of scratch space; the $Size-byte dump needs two parts of $($Needed / $Mib) MiB" }
    return [Math]::Min($Chosen, $Fits)
}
function ConvertTo-Hex([byte[]]$Bytes) { return ([BitConverter]::ToString($Bytes) -replace '-', '').ToLowerInvariant() }
function New-ManifestKey {  # 32 random bytes, base64, kept for the upload command (see new_manifest_key in sh)
    $Key = New-Object byte[] 32
    $Random = [Security.Cryptography.RandomNumberGenerator]::Create()
    try { $Random.GetBytes($Key) } finally { $Random.Dispose() }
    New-PrivateDirectory (Split-Path -Parent $KeyFile)
    Remove-Item -Force -LiteralPath $KeyFile -ErrorAction SilentlyContinue
    [IO.File]::WriteAllText($KeyFile, [Convert]::ToBase64String($Key), $Utf8)
    Emit 'manifest_key' ([Convert]::ToBase64String($Key))
    Emit 'manifest_key_sha256' (ConvertTo-Hex ($Sha256.ComputeHash($Key)))
}

if ($PbAction -eq 'locate') {
    if ($Chosen) {
        $PartSize = Get-PartSize ([long]$Chosen.Size)
        $PartCount = [long][Math]::Floor(([long]$Chosen.Size + $PartSize - 1) / $PartSize)
        $Whole = [Security.Cryptography.SHA256]::Create()
        $Buffer = New-Object byte[] $Mib
        $Digests = New-Object Collections.Generic.List[byte[]]
        $In = [IO.File]::Open((HostPath $Chosen.Path), 'Open', 'Read', 'ReadWrite')
        try {
            for ($N = 1; $N -le $PartCount; $N++) {
                $Part = [Security.Cryptography.SHA256]::Create()
                $Remaining = [Math]::Min($PartSize, [long]$Chosen.Size - ($N - 1) * $PartSize)
                while ($Remaining -gt 0) {
                    $Read = $In.Read($Buffer, 0, [int][Math]::Min([long]$Buffer.Length, $Remaining))
                    if ($Read -le 0) { Fail "cannot read part $N of $($Chosen.Path)" }
                    [void]$Part.TransformBlock($Buffer, 0, $Read, $null, 0)
                    [void]$Whole.TransformBlock($Buffer, 0, $Read, $null, 0)
                    $Remaining -= $Read
                }
                [void]$Part.TransformFinalBlock($Buffer, 0, 0)
                $Digests.Add($Part.Hash)
            }
        } finally { $In.Close() }
        [void]$Whole.TransformFinalBlock($Buffer, 0, 0)
        Emit 'status' 'found'; Report-Dump; Emit 'dmesg_path' ''; Emit 'dmesg_size' ''
        Emit 'part_size' $PartSize; Emit 'part_count' $PartCount
        for ($N = 1; $N -le $PartCount; $N++) { Emit 'part_hash' "$N $(ConvertTo-Hex $Digests[$N - 1])" }
        Emit 'dump_sha256' (ConvertTo-Hex $Whole.Hash)
        Emit 'parts_sha256' (Get-Composite $Digests)
        New-ManifestKey
    }
    else { Emit 'status' 'none'; Emit 'hostname' $env:COMPUTERNAME; Emit 'kernel' $Kernel; Emit 'kernel_source' 'os' }
    Log "locate: chosen=$($Chosen.Path)"
    Finish 0 ''
}

# --- 6. Upload: checks ----------------------------------------------------------------------------
if (-not $Chosen) { Fail "no complete dump written after $NotBefore" }
if ($Chosen.Path -cne $M['expect_path']) { Fail "the newest dump is '$($Chosen.Path)', not '$($M['expect_path'])'" }
if ([string]$Chosen.Size -cne $M['expect_size']) { Fail "$($Chosen.Path) is $($Chosen.Size) bytes, expected $($M['expect_size'])" }
if ($M['part_size'] -cnotmatch '^[1-9][0-9]*$') { Fail 'the manifest has no numeric part_size' }
$PartSize = [long]$M['part_size']
if ($PartSize % $Mib -ne 0) { Fail "part_size $PartSize is not a whole number of MiB" }
$DumpSize = [long]$Chosen.Size
$PartCount = [long][Math]::Floor(($DumpSize + $PartSize - 1) / $PartSize)
if ($PartUrls.Count -ne $PartCount) { Fail "the manifest has $($PartUrls.Count) part URLs, the dump needs $PartCount" }
$Free = (Get-PSDrive -Name $Work.Substring(0, 1)).Free
if ($Free -lt $PartSize + $Mib * 64) { Fail "not enough space in $Work for a $($PartSize / $Mib) MiB part" }

# --- 7. Upload: parts -----------------------------------------------------------------------------
# Constant memory: 1 MiB buffer; each part goes to a temp file (hashed with Get-FileHash, PUT with
# retries); the same bytes feed an incremental SHA-256 of the whole file.
Log "uploading $($Chosen.Path): $DumpSize bytes in $PartCount parts of $($PartSize / $Mib) MiB"
$Whole = [Security.Cryptography.SHA256]::Create()
$Buffer = New-Object byte[] $Mib
$PartFile = Join-Path $Work 'part'
$PartLines = New-Object Collections.Generic.List[string]
$Digests = New-Object Collections.Generic.List[byte[]]
$In = [IO.File]::Open((HostPath $Chosen.Path), 'Open', 'Read', 'ReadWrite')
try {
    for ($N = 1; $N -le $PartCount; $N++) {
        $Url = $PartUrls[$N - 1]
        if (-not (Test-PresignedUrl $Url)) { Fail "part $N URL is not a presigned S3 URL" }
        $In.Position = ($N - 1) * $PartSize
        $Remaining = [Math]::Min($PartSize, $DumpSize - ($N - 1) * $PartSize)
        $Out = [IO.File]::Create($PartFile)
        try {
            while ($Remaining -gt 0) {
                $Read = $In.Read($Buffer, 0, [int][Math]::Min([long]$Buffer.Length, $Remaining))
                if ($Read -le 0) { Fail "cannot read part $N of $($Chosen.Path)" }
                $Out.Write($Buffer, 0, $Read)
                [void]$Whole.TransformBlock($Buffer, 0, $Read, $null, 0)
                $Remaining -= $Read
            }
        } finally { $Out.Close() }
        $PartSha = (Get-FileHash -Algorithm SHA256 -LiteralPath $PartFile).Hash.ToLowerInvariant()
        $Digest = [byte[]]::new(32)
        for ($I = 0; $I -lt 32; $I++) { $Digest[$I] = [Convert]::ToByte($PartSha.Substring(2 * $I, 2), 16) }
        $Digests.Add($Digest)
        if ([Convert]::ToBase64String($Digest) -cne $PartChecksums[$N - 1]) {
            Fail "part $N of $($Chosen.Path) changed since it was located"
        }
        # The URL was signed with this header: S3 refuses it missing, altered, or with other bytes.
        if (-not (PutWithRetry "part $N" $Url $PartFile $PartChecksums[$N - 1])) {
            Fail "part $N failed after $Script:LastAttempt attempts: HTTP $Script:LastStatus"
        }
        $ETag = ([string]($Script:LastResponse.Headers['ETag'] | Select-Object -First 1)).Trim('"')
        if (-not $ETag) { Fail "S3 returned no ETag for part $N" }
        $PartLines.Add("part=$N $ETag $PartSha")
        Log "part $N uploaded (attempt $Script:LastAttempt)"
    }
} finally { $In.Close() }
[void]$Whole.TransformFinalBlock($Buffer, 0, 0)
$DumpSha = ([BitConverter]::ToString($Whole.Hash) -replace '-', '').ToLowerInvariant()

# --- 8. Upload: dmesg -----------------------------------------------------------------------------
# Windows has no kernel ring buffer file next to its dumps: dmesg_source is always none.

# --- 9. Upload: result ----------------------------------------------------------------------------
Emit 'status' 'uploaded'
Report-Dump
Emit 'dump_sha256' $DumpSha
Emit 'parts_sha256' (Get-Composite $Digests)
Emit 'part_size' $PartSize
Emit 'part_count' $PartCount
foreach ($PartLine in $PartLines) { [IO.File]::AppendAllText($ResultFile, "$PartLine`n", $Utf8) }
Emit 'dmesg_source' 'none'
Emit 'started_at' $StartedAt
Emit 'finished_at' ([DateTimeOffset]::UtcNow.ToUnixTimeSeconds())
Log "upload complete: sha256 $DumpSha"
Finish 0 ''
