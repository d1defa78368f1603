; installer.nsh: Warren's additions to electron-builder's NSIS installer (electron-builder.yml,
; nsis.include). It registers the helper as the Windows service "WarrenHelper", running
;   "$INSTDIR\Warren.exe" "$INSTDIR\resources\helper\bin\warren" run
; with ELECTRON_RUN_AS_NODE=1 (the app's own binary in Node mode), stops it before files are
; replaced or removed, and deletes it on uninstall.
;
; Not testable on Linux: written against electron-builder's NSIS hooks (customInit,
; customInstall, customUnInit, customUnInstall) and sc.exe's documented syntax.
; The helper's data plane is Linux-only for now and Node does not speak the Service Control
; Manager protocol, so the service is registered to start on demand, not at boot; switch
; start= to auto once the helper runs as a Windows service (docs/install.md).

!define WARREN_SERVICE "WarrenHelper"
!define WARREN_SERVICE_KEY "SYSTEM\CurrentControlSet\Services\${WARREN_SERVICE}"

; WarrenStopService stops the service if it exists and waits (up to 30 s) until it has
; stopped, so that the helper removes its routes and files are no longer in use. Uses only
; commands (no string functions), so it works in the installer and the uninstaller alike.
!macro WarrenStopService
  Push $0
  Push $1
  ; net stop waits for the stop itself; exit 2 means not running or not installed.
  nsExec::ExecToLog '"$SYSDIR\net.exe" stop ${WARREN_SERVICE}'
  Pop $0
  StrCpy $1 0
  ${Do}
    ; findstr exits 0 while the state is RUNNING or *_PENDING; anything else: stopped or absent.
    nsExec::Exec '"$SYSDIR\cmd.exe" /C sc.exe query ${WARREN_SERVICE} | "$SYSDIR\findstr.exe" /C:RUNNING /C:PENDING'
    Pop $0
    ${If} $0 != 0
      ${Break}
    ${EndIf}
    IntOp $1 $1 + 1
    ${If} $1 >= 30
      DetailPrint "The ${WARREN_SERVICE} service did not stop within 30 s"
      ${Break}
    ${EndIf}
    Sleep 1000
  ${Loop}
  Pop $1
  Pop $0
!macroend

; Before the installer looks for running copies of Warren.exe: the service runs Warren.exe too.
!macro customInit
  !insertmacro WarrenStopService
!macroend

!macro customInstall
  Push $0
  Push $1
  nsExec::ExecToStack '"$SYSDIR\sc.exe" query ${WARREN_SERVICE}'
  Pop $0
  Pop $1
  ${If} $0 == 1060
    nsExec::ExecToLog '"$SYSDIR\sc.exe" create ${WARREN_SERVICE} binPath= "\"$INSTDIR\${APP_EXECUTABLE_FILENAME}\" \"$INSTDIR\resources\helper\bin\warren\" run" start= demand DisplayName= "Warren helper"'
  ${Else}
    nsExec::ExecToLog '"$SYSDIR\sc.exe" config ${WARREN_SERVICE} binPath= "\"$INSTDIR\${APP_EXECUTABLE_FILENAME}\" \"$INSTDIR\resources\helper\bin\warren\" run" start= demand'
  ${EndIf}
  Pop $0
  ${If} $0 != 0
    DetailPrint "Could not register the ${WARREN_SERVICE} service (sc.exe exit $0)"
  ${EndIf}
  nsExec::ExecToLog '"$SYSDIR\sc.exe" description ${WARREN_SERVICE} "Warren mesh VPN helper: the privileged half of Warren"'
  Pop $0
  ; Restart after a crash: 2 s, 2 s, then 10 s; the failure count resets after a day.
  nsExec::ExecToLog '"$SYSDIR\sc.exe" failure ${WARREN_SERVICE} reset= 86400 actions= restart/2000/restart/2000/restart/10000'
  Pop $0
  ; A service's environment is the REG_MULTI_SZ value "Environment" of its key.
  nsExec::ExecToLog '"$SYSDIR\reg.exe" add "HKLM\${WARREN_SERVICE_KEY}" /v Environment /t REG_MULTI_SZ /d "ELECTRON_RUN_AS_NODE=1" /f'
  Pop $0
  Pop $1
  Pop $0
!macroend

!macro customUnInit
  !insertmacro WarrenStopService
!macroend

!macro customUnInstall
  !insertmacro WarrenStopService
  ; An update runs the old uninstaller first: keep the service, customInstall updates it.
  ${ifNot} ${isUpdated}
    Push $0
    nsExec::ExecToLog '"$SYSDIR\sc.exe" delete ${WARREN_SERVICE}'
    Pop $0
    Pop $0
  ${endIf}
!macroend
