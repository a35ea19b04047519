/** A Placement that records the ServiceSpecs components hand to the seam, for tests of the components alone. */
import * as pulumi from "@pulumi/pulumi";
import { DeployedService, Placement, PortSpec, ServiceSpec } from "../../components/placement/types";

export class RecordingPlacement implements Placement {
    readonly kind = "recording";
    readonly dnsResolver = "127.0.0.11:53";
    readonly specs: Array<ServiceSpec & { parent: pulumi.ComponentResource }> = [];
    /** Per service with `inRotation`: the stand-in for its rotation gate. */
    readonly gates = new Map<string, pulumi.Resource>();

    hostOf(service: string): string {
        return `t-${service}`;
    }

    private readonly addresses = new Map<string, string>();

    /** 10.9.0.10, .11, … in the order services are first asked for. */
    addressOf(service: string): string {
        if (!this.addresses.has(service)) this.addresses.set(service, `10.9.0.${10 + this.addresses.size}`);
        return this.addresses.get(service)!;
    }

    reach(service: string, port: PortSpec): { host: string; port: number } {
        return { host: `public-${service}`, port: port.published };
    }

    sourcesOf(services: string[]): string[] {
        return services.map((s) => `net-of-${s}`);
    }

    deploy(parent: pulumi.ComponentResource, spec: ServiceSpec): DeployedService {
        this.specs.push({ ...spec, parent });
        // A plain component stands in for the container, so dependsOn wiring stays real.
        const resource = new pulumi.ComponentResource("test:placement:Service", spec.resourceName, {}, { parent });
        if (!spec.inRotation) return { host: this.hostOf(spec.service), resource, ready: resource };
        const gate = new pulumi.ComponentResource(
            "test:placement:RotationGate",
            `${spec.resourceName}-in-rotation`,
            {},
            { parent, dependsOn: [resource] },
        );
        this.gates.set(spec.service, gate);
        return { host: this.hostOf(spec.service), resource, ready: gate };
    }

    spec(service: string): ServiceSpec {
        const found = this.specs.find((s) => s.service === service);
        if (!found) throw new Error(`no service ${service}; have ${this.specs.map((s) => s.service).join(", ")}`);
        return found;
    }

    file(service: string, path: string): pulumi.Input<string> {
        const f = this.spec(service).files.find((x) => x.path === path);
        if (!f) throw new Error(`${service} has no file ${path}`);
        return f.content;
    }
}
