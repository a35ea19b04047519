/** Offline stand-in for the `command` plugin (see README, "Offline plugins"). */
import { pinnedVersion, serve } from "../provider";
import { localCommand } from "./local";
import { copyToRemote, remoteCommand } from "./remote";

serve(pinnedVersion("@pulumi/command"), [localCommand, remoteCommand, copyToRemote]);
