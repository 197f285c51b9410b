c.KernelGatewayApp.ip = '0.0.0.0'
